// Every EC2 call of the provider goes through here: writes pass the write fence (../fence.ts)
// right before the request; every error is classified once. A FencedError passes through.
import { isFencedError, type WriteFence } from '../fence.js';
import { classifyAwsError, type AwsCallContext } from './errors.js';

/** The part of WriteFence the provider needs (a test may pass an open one). */
export type Fence = Pick<WriteFence, 'run'>;

/** One fenced write: `send` is called only if the fence is open. */
export async function fencedSend<T>(fence: Fence, operation: string, send: () => Promise<T>, ctx: AwsCallContext): Promise<T> {
  try {
    return await fence.run(operation, send);
  } catch (err) {
    if (isFencedError(err)) throw err;
    throw classifyAwsError(err, operation, ctx);
  }
}

/** One read (reads need no fence). */
export async function readSend<T>(operation: string, send: () => Promise<T>, ctx: AwsCallContext = {}): Promise<T> {
  try {
    return await send();
  } catch (err) {
    throw classifyAwsError(err, operation, ctx);
  }
}
