// The controller manager: builds every controller over one set of shared informers, starts
// the informers, and once they have synced runs each controller's workers until stopped.
import { setMaxListeners } from 'node:events';
import type { ApiClient } from '../client/api-client.ts';
import type { Logger } from '../lib/logger.ts';
import { DEFAULT_TIMINGS, runWorkers, type Controller, type ControllerContext, type ControllerManagerTimings } from './controller.ts';
import { SharedInformers } from './informers.ts';
import { CONTROLLERS } from './controllers/index.ts';

export interface ControllerManagerOptions {
  client: ApiClient;
  logger: Logger;
  /** Names of the controllers to run (default: all). */
  controllers?: string[];
  timings?: Partial<ControllerManagerTimings>;
}

export class ControllerManager {
  readonly controllers: Controller[] = [];
  readonly informers: SharedInformers;
  private readonly ctx: ControllerContext;

  constructor(private readonly o: ControllerManagerOptions) {
    if (!o?.client || !o.logger) throw new Error('ControllerManager: client and logger are required');
    const unknown = (o.controllers ?? []).filter((n) => !(n in CONTROLLERS));
    if (unknown.length) throw new Error(`unknown controllers: ${unknown.join(', ')} (known: ${Object.keys(CONTROLLERS).join(', ')})`);
    this.informers = new SharedInformers(o.client, o.logger);
    this.ctx = { client: o.client, informers: this.informers, logger: o.logger, options: { ...DEFAULT_TIMINGS, ...o.timings } };
  }

  async run(signal: AbortSignal): Promise<void> {
    setMaxListeners(0, signal); // every informer and worker listens on it
    for (const [name, make] of Object.entries(CONTROLLERS)) {
      if (this.o.controllers && !this.o.controllers.includes(name)) continue;
      const c = make({ ...this.ctx, logger: this.o.logger.child({ controller: name }) });
      if (c) this.controllers.push(c);
    }
    await this.informers.start(signal);
    this.o.logger.info({ controllers: this.controllers.map((c) => c.name) }, 'caches synced; controllers running');
    await Promise.all(this.controllers.map((c) => runWorkers(c, signal, this.o.logger.child({ controller: c.name }))));
  }
}
