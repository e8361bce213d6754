/**
 * Text that is not Unicode. JSON's `\uXXXX` escapes can spell half of a surrogate pair on its
 * own (`"\ud83d"`), which parses to a JavaScript string that no UTF-8 store or device can hold:
 * such input is refused at the edge, naming where it is, instead of being stored and failing
 * later on its way to a device.
 */

const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The first unpaired surrogate in `text` as `U+D83D`, or undefined when `text` is well formed. */
export const unpairedSurrogate = (text: string): string | undefined => {
  const match = UNPAIRED_SURROGATE.exec(text);
  return match ? `U+${match[0].charCodeAt(0).toString(16).toUpperCase()}` : undefined;
};

export interface InvalidText {
  /** Where: object member names and array indexes from the root (a member name itself counts). */
  path: (string | number)[];
  /** What was found, e.g. "an unpaired surrogate U+D83D". */
  problem: string;
}

/**
 * The first string — member name or value — in a parsed JSON value that is not valid Unicode.
 * Iterative, so that hostile nesting cannot overflow the stack.
 */
export const findInvalidText = (value: unknown): InvalidText | undefined => {
  const stack: { node: unknown; path: (string | number)[] }[] = [{ node: value, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (typeof node === 'string') {
      const found = unpairedSurrogate(node);
      if (found) return { path, problem: `an unpaired surrogate ${found}` };
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--)
        if (typeof node[i] === 'object' || typeof node[i] === 'string')
          stack.push({ node: node[i], path: [...path, i] });
    } else if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const found = unpairedSurrogate(key);
        if (found)
          return { path: [...path, key], problem: `an unpaired surrogate ${found} in the member name` };
        if (typeof child === 'object' || typeof child === 'string')
          stack.push({ node: child, path: [...path, key] });
      }
    }
  }
  return undefined;
};
