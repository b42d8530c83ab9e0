// Messages between the dispatcher's thread and its delivery threads.
import type { AttemptRequest, AttemptResponse } from './attempt.js';

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
