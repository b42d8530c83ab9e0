// Who may subscribe to and publish on the hub: the server's one access model applied to WebSub.
// A subscription reads a topic, so it is guarded like /stream and /sse (--stream-key; the api key is
// accepted too); a publish writes it, so it is guarded like /dispatch (--api-key). --websub-allow lists
// the topics open to anyone without a key; unset, it opens every topic whose direction no key guards.
import { HookhubError } from '../core/errors.js';
import { secretEquals } from '../http/auth.js';
import { topicFilter } from './request.js';

export interface HubAccessOptions {
  /** --websub-allow patterns; default: every topic, unless a key guards the direction. */
  allow?: readonly string[] | undefined;
  apiKey?: string | undefined;
  streamKey?: string | undefined;
}

/** The key a request carried: the api key, the stream key, or none. */
export type HubCredential = 'api' | 'stream' | 'none';

export type HubDirection = 'subscribe' | 'publish';

/** accept; deny (the hub refuses the topic: a key would not help); or an answer to send as is. */
export type HubVerdict = 'accept' | 'deny' | { status: 401 | 403; reason: string };

export class HubAccess {
  private readonly listed: ((topic: string) => boolean) | undefined;

  constructor(private readonly o: HubAccessOptions) {
    this.listed = o.allow === undefined ? undefined : topicFilter(o.allow);
  }

  /** Reads `Authorization: Bearer <key>`; a key that is neither of ours is refused (401). */
  credential(bearer: string | undefined): HubCredential {
    if (bearer === undefined) return 'none';
    if (this.o.apiKey !== undefined && secretEquals(bearer, this.o.apiKey)) return 'api';
    if (this.o.streamKey !== undefined && secretEquals(bearer, this.o.streamKey)) return 'stream';
    throw new HookhubError('unauthorized', 'wrong key');
  }

  private guard(direction: HubDirection): string | undefined {
    return direction === 'publish' ? this.o.apiKey : this.o.streamKey;
  }

  /** Keys that open this direction: the api key always; the stream key for subscriptions. */
  private grants(direction: HubDirection, credential: HubCredential): boolean {
    return credential === 'api' || (credential === 'stream' && direction === 'subscribe');
  }

  verdict(direction: HubDirection, topic: string, credential: HubCredential): HubVerdict {
    if (this.grants(direction, credential)) return 'accept';
    const open = this.listed ? this.listed(topic) : this.guard(direction) === undefined;
    if (open) return 'accept';
    const keyHelps = this.o.apiKey !== undefined || (direction === 'subscribe' && this.o.streamKey !== undefined);
    if (!keyHelps) return 'deny';
    if (credential !== 'none') return { status: 403, reason: `${direction === 'publish' ? 'publishing' : 'subscribing'} needs the api key` };
    const key = direction === 'publish' || this.o.streamKey === undefined ? 'api key' : 'stream key (or the api key)';
    return { status: 401, reason: `a key is required to ${direction} to ${topic.slice(0, 200)}: Authorization: Bearer <${key}>` };
  }
}
