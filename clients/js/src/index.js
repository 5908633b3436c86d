/**
 * @homi/hub-client: the Homi hub's websocket and REST client for browsers and Node.
 *
 * Glossary (the same words as the hub): a *channel* is a named topic such as
 * `district:noord`; a *subscription* is this client on one channel; a
 * *position* is where in a channel's history an event stands, sent back as
 * `since` to resume; *presence* is a caretaker's live state; a *token* is
 * the signed login credential.
 */

export { DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
export { ConnectionState, HomiClient } from './client.js';
export { CloseCode, afterClose } from './closecodes.js';
export { jsonCodec, loadMsgpackCodec } from './codec.js';
export { HomiError } from './errors.js';
export { HomiApi, websocketUrl } from './rest.js';
export { Subscription, keepsHistory } from './subscription.js';
