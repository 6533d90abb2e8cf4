import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ImageValidationError, validateExt4Image } from '@lichen/images';
import type { ServiceContext } from '../../../runner/src/core/context';
import type { ImageInfo } from '../../../runner/src/core/images';
import { SCRATCH_IMAGE } from '../../../runner/src/core/images';
import { ApiError, badRequest, notFound } from '../common/api-error';
import { AdminOnly } from '../common/auth';
import { CTX } from '../common/tokens';
import { checkImage } from '../runs/normalize';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images')
export class ImagesController {
  constructor(@Inject(CTX) private readonly ctx: ServiceContext) {}

  @Get()
  @ApiOperation({ summary: 'Images available to runs' })
  async list(): Promise<{ images: ImageInfo[]; store: string }> {
    return { images: await this.ctx.catalog.list(), store: this.ctx.catalog.kind };
  }

  @Post()
  @AdminOnly()
  @HttpCode(201)
  @ApiConsumes('application/octet-stream')
  @ApiQuery({ name: 'ref', description: 'NAME[:TAG] to store the image under' })
  @ApiOperation({ summary: 'Upload an ext4 image (raw body); validated before it is accepted' })
  async upload(@Query('ref') ref: string | undefined, @Req() req: FastifyRequest): Promise<ImageInfo> {
    if (!ref) throw badRequest('invalid_image', 'query parameter ref=NAME[:TAG] is required');
    if (ref === SCRATCH_IMAGE || ref.startsWith(`${SCRATCH_IMAGE}:`))
      throw badRequest('invalid_image', '"scratch" is reserved');
    checkImage(ref);
    const dir = await mkdtemp(join(tmpdir(), 'lichen-upload-'));
    const file = join(dir, 'image.ext4');
    try {
      let n = 0;
      const max = this.ctx.cfg.images.maxBytes;
      const cap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          n += chunk.length;
          if (n > max) cb(new ApiError(413, 'payload_too_large', `image larger than ${max} bytes`));
          else cb(null, chunk);
        },
      });
      await pipeline(req.raw, cap, createWriteStream(file));
      if (n === 0) throw badRequest('invalid_image_file', 'empty upload: send the ext4 image as the request body');
      try {
        await validateExt4Image(file, { maxBytes: max });
      } catch (e) {
        if (e instanceof ImageValidationError) throw badRequest('invalid_image_file', e.message, { reason: e.code });
        throw e;
      }
      return await this.ctx.catalog.add(ref, file, 'upload');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  @Delete(':ref')
  @AdminOnly()
  @ApiOperation({ summary: 'Remove an image tag (URL-encode NAME:TAG)' })
  async remove(@Param('ref') ref: string): Promise<{ removed: string }> {
    checkImage(ref);
    if (!(await this.ctx.catalog.remove(ref))) throw notFound('image', ref);
    return { removed: ref };
  }
}
