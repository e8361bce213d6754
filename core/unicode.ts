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

interface Frame {
  readonly node: unknown;
  readonly parent: Frame | undefined;
  readonly key: string | number | undefined;
}

const pathOf = (frame: Frame): (string | number)[] => {
  const path: (string | number)[] = [];
  for (let at: Frame | undefined = frame; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
};

const isContainerOrText = (value: unknown) =>
  typeof value === 'string' || (typeof value === 'object' && value !== null);

/**
 * The first string — member name or value — in a parsed JSON value that is not valid Unicode.
 * Iterative and linear (paths are built only for what is found), so hostile nesting can neither
 * overflow the stack nor make it slow.
 */
export const findInvalidText = (value: unknown): InvalidText | undefined => {
  const stack: Frame[] = [{ node: value, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { node } = frame;
    if (typeof node === 'string') {
      const found = unpairedSurrogate(node);
      if (found) return { path: pathOf(frame), problem: `an unpaired surrogate ${found}` };
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--)
        if (isContainerOrText(node[i])) stack.push({ node: node[i], parent: frame, key: i });
    } else if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const found = unpairedSurrogate(key);
        if (found) {
          return {
            path: [...pathOf(frame), key],
            problem: `an unpaired surrogate ${found} in the member name`,
          };
        }
        if (isContainerOrText(child)) stack.push({ node: child, parent: frame, key });
      }
    }
  }
  return undefined;
};
