// Uses the generated modules the way an application would, so that
// `tsc --strict` checks the types they give, not only that they compile.

import { Client, type Int64 } from "@wirecall/client";
import { ShapesClient, isCanvasGetError, type Drawing, type Shape } from "./shapes.js";
import { SpecClient, isDivideError } from "./spec.js";

export async function useSpec(url: string): Promise<Int64> {
  const spec = await SpecClient.connect(url);
  const difference: Int64 = await spec.subtract(42, 23);
  const total = await spec.sum(1); // b and c left out
  const [word, count]: [string, number] = await spec.getData();
  await spec.notifyHello(7);
  try {
    await spec.divide(1, 0);
  } catch (err) {
    if (isDivideError(err)) {
      const code: 1001 = err.code;
      console.log(code, err.message, err.data);
    }
  }
  for await (const event of await spec.subscribeCounter(3)) {
    if (event.type === "item") {
      const n: Int64 = event.item;
      console.log(n);
    }
  }
  console.log(word, count, total);
  return difference;
}

function area(shape: Shape): number {
  // A tagged union narrows on its tag.
  switch (shape.kind) {
    case "circle":
      return Math.PI * shape.radius ** 2;
    case "polygon":
      return shape.corners.length;
  }
}

export async function useShapes(rpc: Client): Promise<number> {
  const canvas = new ShapesClient(rpc);
  const drawing: Drawing = {
    name: "sun",
    colour: "red",
    shapes: [{ kind: "circle", radius: 2 }],
    tags: { bright: 1 },
    serial: 18446744073709551615n,
  };
  await canvas.canvasAdd(drawing);
  try {
    const found = await canvas.canvasGet("sun");
    return found === null ? 0 : found.shapes.map(area).reduce((a, b) => a + b, 0);
  } catch (err) {
    if (isCanvasGetError(err) && err.code === 2001) return -1;
    throw err;
  }
}
