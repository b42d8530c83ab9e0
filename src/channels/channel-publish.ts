// What the publishing node knows of a channel publish beyond its stored bytes: the user as the channel
// shows it, the payload as given, and the connection it leaves out (a non-reflective channel's sender).
// It travels to this node's fan-out as Topics.publish's `local` option; other nodes read the stored
// message instead (its author is the user, its JSON data the payload).
import type { Message } from '../core/message.js';

export class ChannelPublish {
  constructor(
    readonly user: string | null,
    readonly payload: unknown,
    /** The sender's connection (model.ts Conn; typed loosely here to keep protocol.ts free of the model). */
    readonly leaveOut?: object,
  ) {}
}

/** The channel publish a message came from, when it was made on this node and is being fanned out now. */
export function channelPublishOf(m: Message): ChannelPublish | undefined {
  return m.local instanceof ChannelPublish ? m.local : undefined;
}
