// Promotions (`#/promotions`): every promotion made, the running ones first, with what each covers, its window and what
// its budget has given; a form to start one (a merchant's covers their own goods only) and a button to end one. Every
// action is a command through the public API.
import { api, command, el, fillTable, money, number, when } from "./api.js";

const $ = (id) => document.getElementById(id);

/** What a promotion takes off, in words. */
export function describe(promotion) {
  const yuan = (minor) => money(minor, promotion.currency);
  switch (promotion.kind) {
    case "percentOff": return `${promotion.percent}% off`;
    case "amountOff": return `${yuan(promotion.amountOff)} off each unit`;
    case "buyXGetY": return `buy ${promotion.buy} get ${promotion.get}`;
    default: return (promotion.tiers ?? []).map((tier) => tier.percent > 0
      ? `${tier.percent}% off above ${yuan(tier.threshold)}`
      : `${yuan(tier.amountOff)} off ${tier.repeating ? "every" : "above"} ${yuan(tier.threshold)}`).join("; ");
  }
}

const covers = (promotion) => [
  ...promotion.categories.map((category) => `category ${category}`), ...promotion.brands.map((brand) => `brand ${brand}`),
  ...(promotion.goodsIds.length ? [`${promotion.goodsIds.length} goods`] : []),
].join(", ") || (promotion.merchantId ? "all the merchant's goods" : "every goods");

function status(promotion, now) {
  if (promotion.ended) return "ended";
  if (now < promotion.validFrom) return "scheduled";
  return now < promotion.validUntil ? "running" : "over";
}

function budget(promotion) {
  const parts = [];
  if (promotion.discountMax !== undefined) parts.push(`${money(promotion.spent, promotion.currency)} of ${money(promotion.discountMax, promotion.currency)}`);
  if (promotion.usesMax !== undefined) parts.push(`${number(promotion.uses)} of ${number(promotion.usesMax)} orders`);
  return parts.join(" · ") || "no limit";
}

export async function showPromotions(parameters) {
  const after = parameters.get("after");
  const promotions = await api(`/v1/promotions?all=true${after ? `&after=${after}` : ""}`);
  const now = Date.now();
  const order = { running: 0, scheduled: 1, over: 2, ended: 3 };
  promotions.sort((left, right) => order[status(left, now)] - order[status(right, now)]);
  fillTable($("promotion-list"), [
    { title: "Name", value: (promotion) => promotion.name },
    { title: "Takes off", value: describe },
    { title: "Covers", value: covers },
    { title: "Window", value: (promotion) => `${when(promotion.validFrom)} → ${when(promotion.validUntil)}` },
    { title: "Budget given", value: budget },
    { title: "Status", value: (promotion) => status(promotion, now) },
    { title: "", value: (promotion) => status(promotion, now) === "ended" || status(promotion, now) === "over" ? "" : endButton(promotion) },
  ], promotions, "no promotions yet");
}

function endButton(promotion) {
  const button = el("button", { type: "button", class: "secondary", "data-end": promotion.promotionId }, "End");
  button.addEventListener("click", () => act("EndPromotion", { promotionId: promotion.promotionId, reason: "ended in the console" }));
  return button;
}

async function act(type, data) {
  $("promotion-error").textContent = "";
  try {
    const answer = await command(type, data);
    const position = answer.events?.at(-1)?.position;
    location.hash = `#/promotions?after=${position ?? 0}&t=${Date.now()}`;
  } catch (error) {
    $("promotion-error").textContent = `${type} was refused: ${error.message}${error.code ? ` (${error.code})` : ""}`;
  }
}

/** The form's fields as a CreatePromotion: yuan in, minor units out; empty fields left out. */
function creation(form) {
  const value = (name) => form.elements[name].value.trim();
  const minor = (name) => Math.round(Number(value(name)) * 100);
  const kind = value("kind");
  const data = { name: value("name"), kind, validUntil: Date.now() + Number(value("days") || "7") * 86_400_000 };
  if (kind === "percentOff") data.percent = Number(value("percent"));
  if (kind === "amountOff") data.amountOff = minor("amount");
  if (kind === "spendAndSave") {
    data.tiers = [value("percent")
      ? { threshold: minor("threshold"), percent: Number(value("percent")) }
      : { threshold: minor("threshold"), amountOff: minor("amount"), repeating: form.elements.repeating.checked }];
  }
  if (kind === "buyXGetY") { data.buy = Number(value("buy")); data.get = Number(value("get")); }
  if (value("category")) data.categories = [value("category")];
  if (value("brand")) data.brands = [value("brand")];
  if (value("usesMax")) data.usesMax = Number(value("usesMax"));
  if (value("discountMax")) data.discountMax = minor("discountMax");
  return data;
}

export function wirePromotions() {
  $("promotion-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act("CreatePromotion", creation(event.target));
  });
}
