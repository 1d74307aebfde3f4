// Checks each OpenRPC document named on the command line against the
// published OpenRPC meta-schema, whose schema objects follow the JSON Schema
// meta-schema it refers to. Prints one line per document; exits 1 when any
// document is invalid, 2 when one cannot be read.
"use strict";
const fs = require("fs");
const Ajv = require("ajv").default;
const addFormats = require("ajv-formats").default;
const jsonSchemaMeta = require("@json-schema-tools/meta-schema").default;
const { openrpcDocument } = require("@open-rpc/meta-schema");

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// The OpenRPC meta-schema refers to this one both with and without the
// trailing slash of its $id.
ajv.addMetaSchema(jsonSchemaMeta);
ajv.addMetaSchema({ ...jsonSchemaMeta, $id: "https://meta.json-schema.tools" });
const validate = ajv.compile(openrpcDocument);

let failed = false;
for (const file of process.argv.slice(2)) {
  let document;
  try {
    document = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    console.log(`${file}: cannot read: ${err.message}`);
    process.exit(2);
  }
  if (validate(document)) {
    console.log(`${file}: valid`);
  } else {
    failed = true;
    const where = validate.errors
      .slice(0, 5)
      .map((e) => `${e.instancePath || "/"} ${e.message}`)
      .join("; ");
    console.log(`${file}: invalid: ${where}`);
  }
}
process.exit(failed ? 1 : 0);
