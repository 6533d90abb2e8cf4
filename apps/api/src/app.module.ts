import { Inject, Injectable, Module } from '@nestjs/common';
import type {
  BeforeApplicationShutdown,
  DynamicModule,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { BatchCoordinator } from '../../runner/src/batch/coordinator';
import type { LichenConfig } from '../../runner/src/core/config';
import type { ServiceContext } from '../../runner/src/core/context';
import { checkImageStore, closeContext, createContext } from '../../runner/src/core/context';
import { RunSubmitter } from '../../runner/src/core/submitter';
import { BatchesController } from './batches/batches.controller';
import { BatchesService } from './batches/batches.service';
import { AuthGuard } from './common/auth';
import { GlobalErrorFilter } from './common/error-filter';
import { Draining } from './common/draining';
import { COORDINATOR, CTX, DONE_WAITER, DRAINING, SUBMITTER } from './common/tokens';
import { HealthController } from './health/health.controller';
import { ImagesController } from './images/images.controller';
import { DoneWaiter } from './runs/done-waiter';
import { RunsController } from './runs/runs.controller';
import { RunsService } from './runs/runs.service';
import { TenantsController } from './tenants/tenants.controller';

@Injectable()
class ApiLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(CTX) private readonly ctx: ServiceContext,
    @Inject(SUBMITTER) private readonly submitter: RunSubmitter,
    @Inject(DONE_WAITER) private readonly waiter: DoneWaiter,
    @Inject(DRAINING) private readonly draining: Draining,
    @Inject('OWNS_CONTEXT') private readonly owns: boolean,
  ) {}
  async onApplicationBootstrap(): Promise<void> {
    await checkImageStore(this.ctx);
    await this.ctx.tenants.bootstrap(this.ctx.cfg.bootstrapKeys);
    await this.waiter.start();
  }
  /** Before the HTTP server closes (it waits for open requests): end the long-lived ones. */
  beforeApplicationShutdown(): void {
    this.draining.begin();
    this.waiter.release();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.waiter.close();
    await this.submitter.close();
    if (this.owns) await closeContext(this.ctx);
  }
}

export interface ApiModuleOptions {
  /** Share a context (lichen serve: one Redis connection set and one metrics registry). */
  context?: ServiceContext;
}

@Module({})
export class ApiModule {
  static forRoot(cfg: LichenConfig, opts: ApiModuleOptions = {}): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        // nestjs-pino gives Nest and the services their logger; its per-request middleware
        // (pino-http) is applied to no route: requests are logged by observeRequests
        // (common/request-log.ts), at a fraction of the cost.
        LoggerModule.forRoot({
          pinoHttp: { level: cfg.logLevel, redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] },
          forRoutes: [],
        }),
      ],
      controllers: [RunsController, BatchesController, ImagesController, TenantsController, HealthController],
      providers: [
        { provide: 'OWNS_CONTEXT', useValue: !opts.context },
        { provide: CTX, useFactory: () => opts.context ?? createContext(cfg, { app: 'api' }) },
        {
          provide: SUBMITTER,
          inject: [CTX],
          useFactory: (ctx: ServiceContext) => {
            const s = new RunSubmitter(cfg, ctx.keys, ctx.runs, ctx.redis);
            ctx.metrics.setQueueDepthSource(() => s.counts());
            return s;
          },
        },
        {
          provide: COORDINATOR,
          inject: [CTX, SUBMITTER, PinoLogger],
          useFactory: (ctx: ServiceContext, s: RunSubmitter, log: PinoLogger) =>
            new BatchCoordinator(cfg, ctx.batches, s, ctx.artifacts, log, ctx.tenants),
        },
        {
          provide: DONE_WAITER,
          inject: [CTX],
          useFactory: (ctx: ServiceContext) => new DoneWaiter(cfg.redisUrl, ctx.keys.doneChannel()),
        },
        { provide: DRAINING, useFactory: () => new Draining() },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: GlobalErrorFilter },
        RunsService,
        BatchesService,
        ApiLifecycle,
      ],
    };
  }
}
