// Types of examples/graph/server.mjs for the TypeScript tests that drive it.
import type { ExampleApp } from '../chat/server.mjs';
export const CHANNEL: string;
export interface GraphApp extends ExampleApp {
  served: Array<{ t: number; value: number }>;
}
export function startGraphApp(options?: { port?: number; host?: string; hubUrl?: string; secret?: string; interval?: number; points?: number }): Promise<GraphApp>;
