// The channels' expected refusals (a bad option, a refused callback, no such channel or user).

/** An expected refusal: becomes an ERROR frame or a REST `[false, {msg}]`. */
export class ChannelError extends Error {}
