// Types of examples/chat/server.mjs for the TypeScript tests that drive it.
export interface ExampleApp {
  url: string;
  calls: Array<{ action: string; fields: Record<string, string>; at: number }>;
  close(): Promise<void>;
  setHubUrl(url: string): void;
}
export function startChatApp(options?: { port?: number; host?: string; hubUrl?: string; secret?: string; historySize?: number }): Promise<ExampleApp>;
