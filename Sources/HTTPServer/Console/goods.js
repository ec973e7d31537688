// Goods for people: every goods of the viewer's scope with its price and stock, and one goods' variants, specifications
// and price and stock history.
import { api, card, el, eventColumns, fillTable, money, number, session } from "./api.js";

const $ = (id) => document.getElementById(id);

export async function showGoodsList() {
  $("goods-scope").textContent = session.who?.role === "admin" ? "Every merchant's goods." : "Your goods.";
  const goods = await api("/v1/analytics/stock?limit=500");
  fillTable($("goods-list"), [
    { title: "Goods", value: (row) => el("a", { href: `#/goods/${row.goodsId}` }, row.title) },
    { title: "Price", number: true, value: (row) => money(row.price, row.currency) },
    { title: "On hand", number: true, value: (row) => number(row.onHand) },
    { title: "Reserved", number: true, value: (row) => number(row.reserved) },
    { title: "Available", number: true, value: (row) => el("span", { class: row.available <= row.threshold ? "low" : undefined }, number(row.available)) },
    { title: "Listed", value: (row) => row.listed ? "yes" : "no" },
  ], goods, "no goods yet");
}

export async function showGoodsPage(id) {
  const [goods, history] = await Promise.all([
    api(`/v1/goods/${encodeURIComponent(id)}`), api(`/v1/goods/${encodeURIComponent(id)}/history`),
  ]);
  $("goods-title").textContent = goods.title;
  $("goods-cards").replaceChildren(
    card("Price", money(goods.price, goods.currency), "price"), card("Available", number(goods.available), "available"),
    card("Sold", number(goods.sold), "sold"), card("Listed", goods.listed ? "yes" : "no", "listed"),
  );
  fillTable($("goods-variants"), [
    { title: "Variant", value: (variant) => variant.label || "(the only one)" },
    { title: "SKU", value: (variant) => variant.sku || "—" },
    { title: "Price", number: true, value: (variant) => money(variant.price, goods.currency) },
    { title: "Available", number: true, value: (variant) => number(variant.available) },
    { title: "Weight", number: true, value: (variant) => variant.weightGrams == null ? "—" : `${number(variant.weightGrams)} g` },
    { title: "For sale", value: (variant) => variant.listed ? "yes" : "no" },
  ], goods.variants);
  fillTable($("goods-attributes"), [
    { title: "Name", value: (attribute) => attribute.name },
    { title: "Value", value: (attribute) => attribute.unit ? `${attribute.value} ${attribute.unit}` : attribute.value },
  ], goods.attributes, "none given");
  fillTable($("goods-history"), [
    ...eventColumns(session.who?.role === "admin"),
    { title: "Price", number: true, value: (entry) => money(entry.price, entry.currency) },
    { title: "On hand", number: true, value: (entry) => number(entry.onHand) },
    { title: "Reserved", number: true, value: (entry) => number(entry.reserved) },
  ], history);
}
