// JSON that keeps integers exact. JSON.parse turns every number into a
// float, so ids, offsets and amounts past 2^53 would silently change; these
// two functions carry such integers as `bigint` instead.

/**
 * A 64-bit integer as the client hands it over: a `number` while it fits
 * exactly (up to 2^53 - 1 in magnitude), a `bigint` past that. Either may
 * be sent; a `bigint` is written as a plain JSON integer.
 */
export type Int64 = number | bigint;

const DIGIT_0 = 48;
const DIGIT_9 = 57;

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

// Fewer digits than this always fit in a double exactly (2^53 has 16).
const SAFE_DIGITS = 15;

interface Span {
  start: number;
  end: number;
}

/** Finds the integer literals outside strings that a double cannot hold. */
function findBigIntegers(text: string): Span[] {
  const spans: Span[] = [];
  const length = text.length;
  let i = 0;
  while (i < length) {
    const code = text.charCodeAt(i);
    if (code === 34 /* " */) {
      i++;
      while (i < length) {
        const c = text.charCodeAt(i);
        if (c === 92 /* \ */) i += 2;
        else if (c === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if (code !== 45 /* - */ && !isDigit(code)) {
      i++;
      continue;
    }
    const start = i;
    if (code === 45) i++;
    const digitsStart = i;
    while (i < length && isDigit(text.charCodeAt(i))) i++;
    const digits = i - digitsStart;
    let integer = true;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c === 46 /* . */ || c === 101 /* e */ || c === 69 /* E */ || c === 43 || c === 45) {
        integer = false;
        i++;
      } else if (isDigit(c)) {
        i++;
      } else {
        break;
      }
    }
    if (integer && digits > SAFE_DIGITS) {
      const value = BigInt(text.slice(start, i));
      const magnitude = value < 0n ? -value : value;
      if (magnitude > BigInt(Number.MAX_SAFE_INTEGER)) spans.push({ start, end: i });
    }
  }
  return spans;
}

// A tag no peer can guess, so a string in the data can never pass for one
// of the placeholders below.
function freshTag(): string {
  return `\u0000wirecall-int-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}:`;
}

/**
 * Parses JSON text; integers beyond Number.MAX_SAFE_INTEGER come back as
 * `bigint`, every other number as a plain number.
 */
export function parseJson(text: string): unknown {
  const spans = findBigIntegers(text);
  if (spans.length === 0) return JSON.parse(text);
  // Swap each big literal for a tagged string, then turn those back into
  // bigints while JSON.parse builds the value.
  const tag = freshTag();
  const quotedTag = JSON.stringify(tag).slice(0, -1);
  let rewritten = "";
  let from = 0;
  for (const span of spans) {
    rewritten += text.slice(from, span.start) + quotedTag + text.slice(span.start, span.end) + '"';
    from = span.end;
  }
  rewritten += text.slice(from);
  return JSON.parse(rewritten, (_key, value: unknown) =>
    typeof value === "string" && value.startsWith(tag) ? BigInt(value.slice(tag.length)) : value,
  );
}

/** Writes a value as JSON; a `bigint` anywhere becomes a bare integer. */
export function stringifyJson(value: unknown): string {
  let tag: string | undefined;
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== "bigint") return item;
    tag ??= freshTag();
    return tag + item.toString();
  });
  if (tag === undefined) return text;
  const quotedTag = JSON.stringify(tag).slice(0, -1);
  return text.split(quotedTag).map((part, index) => (index === 0 ? part : part.replace('"', ""))).join("");
}
