import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { LichenConfig } from './core/config';
import type { ServiceContext } from './core/context';
import { checkImageStore, closeContext, createContext } from './core/context';
import { RunnerCore } from './runner-core';
import type { RunnerOptions } from './runner-core';

export const SERVICE_CONTEXT = Symbol('SERVICE_CONTEXT');
export const RUNNER_OPTIONS = Symbol('RUNNER_OPTIONS');

@Injectable()
class RunnerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(RunnerCore) private readonly core: RunnerCore,
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject('OWNS_CONTEXT') private readonly ownsContext: boolean,
  ) {}
  async onApplicationBootstrap(): Promise<void> {
    await checkImageStore(this.ctx);
    await this.core.start();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.core.stop();
    if (this.ownsContext) await closeContext(this.ctx);
  }
}

/** Nest application context of the runner: config → context → RunnerCore (BullMQ worker + VM pool). */
@Module({})
export class RunnerModule {
  static forRoot(cfg: LichenConfig, opts: RunnerOptions & { context?: ServiceContext } = {}): DynamicModule {
    return {
      module: RunnerModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { level: cfg.logLevel } })],
      providers: [
        { provide: 'OWNS_CONTEXT', useValue: !opts.context },
        { provide: SERVICE_CONTEXT, useFactory: () => opts.context ?? createContext(cfg, { app: 'runner' }) },
        {
          provide: RunnerCore,
          inject: [SERVICE_CONTEXT, PinoLogger],
          useFactory: (ctx: ServiceContext, log: PinoLogger) => {
            log.setContext('runner');
            return new RunnerCore(ctx, log, opts);
          },
        },
        RunnerLifecycle,
      ],
      exports: [RunnerCore, SERVICE_CONTEXT],
    };
  }
}
