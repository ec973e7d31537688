// The API reference, rendered from the document the server serves (/openapi.json): every operation with its access,
// parameters, request body, answer and the error codes of each status; every command with its fields.
import { api, el } from "./api.js";

let document_;

function resolve(schema) {
  while (schema?.$ref) schema = document_.components.schemas[schema.$ref.split("/").pop()];
  return schema ?? {};
}

function typeOf(schema) {
  schema = resolve(schema);
  const types = [].concat(schema.type ?? []);
  const base = types.filter((type) => type !== "null");
  let text = base.length ? base.join(" | ") : "any";
  if (base[0] === "array") text = `array of ${typeOf(schema.items)}`;
  if (schema.format) text += ` (${schema.format})`;
  if (schema.enum) text += `: ${schema.enum.join(", ")}`;
  if (schema.const) text = `"${schema.const}"`;
  const bounds = [];
  if (schema.minimum !== undefined) bounds.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) bounds.push(`≤ ${schema.maximum}`);
  if (schema.maxLength !== undefined) bounds.push(`≤ ${schema.maxLength} characters`);
  if (schema.maxItems !== undefined) bounds.push(`≤ ${schema.maxItems} items`);
  if (bounds.length) text += `, ${bounds.join(", ")}`;
  if (types.includes("null")) text += ", or null";
  return text;
}

/** An object's fields as a nested list: name, type, required, description. */
function fields(schema, depth = 0) {
  schema = resolve(schema);
  if (schema.type === "array" || schema.type?.includes?.("array")) return fields(schema.items, depth);
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const names = Object.keys(properties).sort();
  if (names.length === 0 || depth > 4) return "";
  return el("ul", { class: "fields" }, names.map((name) => {
    const property = properties[name];
    return el("li", {},
      el("code", {}, name), " ", el("span", { class: "muted" }, typeOf(property)), required.has(name) ? " · required" : "",
      property.description ? ` — ${property.description}` : "",
      fields(property, depth + 1));
  }));
}

function access(operation) {
  const security = operation.security;
  if (!security) return "anyone";
  const ways = security.map((way) => Object.entries(way).map(([name, scopes]) => scopes.length ? `${name} (${scopes.join(", ")})` : name).join(" + ") || "anonymous");
  const role = operation["x-required-role"] ? `role ${operation["x-required-role"]} or above; ` : "";
  return role + ways.join(" or ");
}

function anchor(method, path) { return `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, "-"); }

function operationView(path, method, operation) {
  const section = el("section", { class: "operation", id: anchor(method, path) },
    el("h2", {}, el("span", { class: "method" }, method.toUpperCase()), " ", el("code", {}, path)),
    el("p", {}, operation.summary ?? ""),
    el("p", { class: "muted" }, `Access: ${access(operation)}`));
  const parameters = operation.parameters ?? [];
  if (parameters.length) {
    section.append(el("h3", {}, "Parameters"), el("ul", { class: "fields" }, parameters.map((parameter) =>
      el("li", {}, el("code", {}, parameter.name), ` (${parameter.in}) `, el("span", { class: "muted" }, typeOf(parameter.schema)),
        parameter.required ? " · required" : "", parameter.description ? ` — ${parameter.description}` : ""))));
  }
  const body = operation.requestBody?.content?.["application/json"];
  if (body) {
    const command = resolve(body.schema);
    section.append(el("h3", {}, "Body"));
    if (command.oneOf) {
      const mapping = command.discriminator?.mapping ?? {};
      section.append(el("p", {}, `One of ${Object.keys(mapping).length} commands, named by `, el("code", {}, command.discriminator?.propertyName ?? "type"), ":"));
      for (const [type, reference] of Object.entries(mapping).sort()) {
        const variant = resolve({ $ref: reference });
        const example = body.examples?.[type]?.value;
        section.append(el("details", { id: `command-${type}` }, el("summary", {}, el("code", {}, type)),
          fields(variant.properties?.data ?? {}),
          example ? el("pre", {}, el("code", {}, JSON.stringify(example, null, 2))) : ""));
      }
    } else {
      section.append(fields(command));
    }
  }
  const responses = operation.responses ?? {};
  const ok = responses["200"]?.content ?? {};
  for (const [type, media] of Object.entries(ok)) {
    section.append(el("h3", {}, "Answer ", el("code", {}, type)), el("p", { class: "muted" }, typeOf(media.schema)), fields(media.schema));
  }
  const errors = Object.entries(responses).filter(([status]) => status !== "200" && status !== "default");
  if (errors.length) {
    section.append(el("details", {}, el("summary", {}, "Refusals"), el("ul", { class: "fields" },
      errors.map(([status, response]) => el("li", {}, el("code", {}, status), " ", response.description ?? "")))));
  }
  return section;
}

async function render() {
  try {
    document_ = await api("/openapi.json");
    document.getElementById("about").prepend(`${document_.info.title} API ${document_.info.version}. `);
    const index = document.getElementById("index");
    const operations = document.getElementById("operations");
    for (const [path, item] of Object.entries(document_.paths).sort()) {
      for (const [method, operation] of Object.entries(item)) {
        index.append(el("a", { href: `#${anchor(method, path)}` }, `${method.toUpperCase()} ${path}`));
        operations.append(operationView(path, method, operation));
      }
    }
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  } catch (error) {
    document.getElementById("failure").textContent = `The reference could not be read: ${error.message}`;
  }
}

render();
