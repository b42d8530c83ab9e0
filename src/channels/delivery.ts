// What a channel hands back to this node (model.ts ChannelOwner): each message the core fan-out
// delivers to it, sent to its members as PUBLISH frames and recorded in its history.
import type { Message } from '../core/message.js';
import { channelPublishOf } from './channel-publish.js';
import type { ChannelsContext } from './context.js';
import type { ChannelData } from './data.js';
import type { Channel, ChannelOwner, Conn } from './model.js';
import { publishInfo, publishTail, publishTailWithOffset } from './protocol.js';

export class ChannelDelivery implements ChannelOwner {
  constructor(private readonly ctx: ChannelsContext, private readonly data: ChannelData) {}

  /** Fan-out hot path: one encoded frame per message, handed to each subscribed connection. */
  delivered(ch: Channel, m: Message): void {
    if (m.epoch !== undefined && m.epoch !== ch.epoch) {
      // The topic log began again (or this is the first message of it here): its offsets start over.
      ch.epoch = m.epoch;
      ch.lastOffset = m.offset;
    } else if (m.offset > ch.lastOffset) ch.lastOffset = m.offset;
    const info = publishInfo(m);
    // Every node that has the channel records it; a shared store keeps it once (by offset).
    this.data.record(ch, ch.entry('PUBLISH', ch.options.anonymous ? null : info.user, m.time, info.payload), m.offset);
    const receivers = ch.receivers();
    if (receivers.length === 0) return;
    const frameTail = publishTail(m);
    // A publish made here may leave out its sender's connection (channel-publish.ts).
    const leaveOut = channelPublishOf(m)?.leaveOut;
    // A connection catching up (subscriptions.ts) gets this publish from its recovery, after its SUBSCRIBE frame.
    const catchingUp = ch.catchingUp.size > 0 ? ch.catchingUp : undefined;
    for (let i = 0; i < receivers.length; i++) {
      const c = receivers[i] as Conn;
      if (c !== leaveOut && (catchingUp === undefined || !catchingUp.has(c))) c.send(c.offsets ? publishTailWithOffset(m) : frameTail);
    }
  }

  remoteUsers(channel: string): ReadonlySet<string> {
    return this.ctx.deps.presence.remote(channel);
  }
}
