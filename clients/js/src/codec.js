/**
 * The two wire encodings of the v1 contract. JSON travels as text frames
 * (`homi.v1.json`), msgpack as binary frames (`homi.v1.msgpack`). The msgpack
 * package is imported only when asked for, so browser pages that speak JSON
 * need no import map entry for it.
 */

export const jsonCodec = Object.freeze({
  subprotocol: 'homi.v1.json',
  binary: false,
  encode: (frame) => JSON.stringify(frame),
  decode: (data) => {
    if (typeof data !== 'string') throw new TypeError('expected a text frame');
    return JSON.parse(data);
  },
});

/** Load the msgpack codec (dynamic import of `@msgpack/msgpack`). */
export async function loadMsgpackCodec() {
  const { encode, decode } = await import('@msgpack/msgpack');
  return Object.freeze({
    subprotocol: 'homi.v1.msgpack',
    binary: true,
    encode: (frame) => encode(frame),
    decode: (data) => {
      if (typeof data === 'string') throw new TypeError('expected a binary frame');
      return decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    },
  });
}

/**
 * @param {'json' | 'msgpack' | object} choice a name, or a codec object of one's own
 */
export async function resolveCodec(choice) {
  if (choice === undefined || choice === 'json') return jsonCodec;
  if (choice === 'msgpack') return loadMsgpackCodec();
  if (typeof choice === 'object' && choice.encode && choice.decode) return choice;
  throw new TypeError(`unknown codec ${String(choice)}; use 'json' or 'msgpack'`);
}
