// Hookbox's REST API is refused without a REST secret (--api-key), and with a key set /ws opens only
// through the application's callbacks or --channels-open: tests that drive both without an app use these.
export const REST_KEY = 'rest-k3y';

/** Hub options: the REST secret, and /ws open without application callbacks. */
export const restful = { apiKey: REST_KEY, channelsOpen: true } as const;

/** The same for a hub in another process (environment variables). */
export const restfulEnv = { HOOKHUB_API_KEY: REST_KEY, HOOKHUB_CHANNELS_OPEN: '1' } as const;

/** The REST secret as Hookbox's REST clients send it (Authorization: Bearer works too). */
export const restAuth = { authorization: `Bearer ${REST_KEY}` } as const;
