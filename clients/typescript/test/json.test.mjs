import assert from "node:assert/strict";
import test from "node:test";
import { parseJson, stringifyJson } from "../dist/index.js";

test("integers past 2^53 come back as bigint, exactly", () => {
  const value = parseJson('{"a":18446744073709551615,"b":9007199254740993,"c":-9007199254740993}');
  assert.equal(value.a, 18446744073709551615n);
  assert.equal(value.b, 9007199254740993n);
  assert.equal(value.c, -9007199254740993n);
});

test("safe integers, floats and digits inside strings stay as they are", () => {
  const text = '{"n":9007199254740991,"f":18446744073709551615.5,"e":1e400,"s":"18446744073709551615","esc":"\\"12345678901234567890","arr":[1,-2,3.25]}';
  const value = parseJson(text);
  assert.equal(value.n, 9007199254740991);
  assert.equal(typeof value.f, "number");
  assert.equal(value.e, Infinity);
  assert.equal(value.s, "18446744073709551615");
  assert.equal(value.esc, '"12345678901234567890');
  assert.deepEqual(value.arr, [1, -2, 3.25]);
});

test("a bigint is written as a bare integer", () => {
  assert.equal(stringifyJson({ x: 18446744073709551615n, y: [9007199254740993n], s: "1" }), '{"x":18446744073709551615,"y":[9007199254740993],"s":"1"}');
  assert.equal(stringifyJson({ plain: 1 }), '{"plain":1}');
});

test("round trips keep every digit", () => {
  for (const text of ["18446744073709551615", "9007199254740993", "-18446744073709551616", "[1,18446744073709551615,\"x\"]"]) {
    assert.equal(stringifyJson(parseJson(text)), text);
  }
});

test("a string that looks like the internal placeholder is left alone", () => {
  const text = '{"a":"\\u0000wirecall-int-x:1","b":18446744073709551615}';
  const value = parseJson(text);
  assert.equal(value.a, "\u0000wirecall-int-x:1");
  assert.equal(value.b, 18446744073709551615n);
});
