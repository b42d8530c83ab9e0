// Messages between the dispatcher's thread and its delivery threads.
import type { AttemptRequest, AttemptResponse } from './http-request.js';

/** An attempt as it crosses to a delivery thread (the body arrives as a Uint8Array). */
export type WireRequest = Omit<AttemptRequest, 'aborts' | 'body'> & { body?: Uint8Array };

export interface ToThread {
  send?: Array<[number, WireRequest]>;
  abort?: { ids: number[]; reason: string };
  close?: true;
}

export interface FromThread {
  done?: Array<[number, AttemptResponse]>;
  closed?: true;
}

/** Collects items during an event-loop turn and hands them to `flush` together at its end (one message). */
export function perTurn<T>(flush: (items: T[]) => void): (item: T) => void {
  let items: T[] = [];
  return (item) => {
    items.push(item);
    if (items.length > 1) return;
    setImmediate(() => {
      const batch = items;
      items = [];
      flush(batch);
    });
  };
}
