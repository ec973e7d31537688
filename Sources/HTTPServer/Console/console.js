// Sign-in, the views and their routes (`#/`, `#/order/<id>`, `#/goods`, `#/goods/<id>`, `#/reviews?status=`, `#/promotions`, `#/time-travel?…`, `#/streams?…`,
// `#/events?…`, `#/event/<position>`, `#/read-models`: every view's query is in the URL, so it can be shared), and the shop
// dashboard, from the analytics read model through the public API.
import { ApiError, api, card, command, el, fillTable, money, number, percent, session } from "./api.js";
import { showEvent, showEvents, wireEventFilter } from "./events.js";
import { showGoodsList, showGoodsPage } from "./goods.js";
import { showOrder, showOrdersToAct } from "./orders.js";
import { showReadModels, stopReadModels } from "./readmodels.js";
import { showPromotions, wirePromotions } from "./promotions.js";
import { showReviews } from "./reviews.js";
import { showStreams, wireStreamFilter } from "./streams.js";
import { showTimeTravel, stopLive, wireTimeTravel } from "./timetravel.js";

const $ = (id) => document.getElementById(id);

const views = ["sign-in", "dashboard", "order", "goods", "goods-page", "reviews", "promotions", "time-travel", "streams", "events", "event", "read-models"];

function show(view) {
  for (const id of views) $(id).hidden = id !== view;
  const who = session.who;
  $("who").textContent = who ? `${who.email} · ${who.role}` : "";
  $("sign-out").hidden = !who;
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  $("sign-in-error").textContent = "";
  try {
    const answer = await command("Login", { email: form.get("email"), password: form.get("password") });
    const { token, role, userId } = answer.result;
    if (role !== "admin" && role !== "merchant") {
      $("sign-in-error").textContent = "The console is for admins and merchants.";
      return;
    }
    session.start(token, { email: form.get("email"), role, userId });
    await route();
  } catch (error) {
    $("sign-in-error").textContent = error instanceof ApiError && error.status === 401 ? "Wrong email or password." : error.message;
  }
});

$("sign-out").addEventListener("click", () => { session.end(); show("sign-in"); });

/** GMV per day as bars, orders as a line, in inline SVG. */
function salesChart(days) {
  const width = 1000, height = 220, left = 56, bottom = 24, top = 10;
  const svg = (tag, attributes) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  };
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "GMV per day" });
  if (days.length === 0) return el("p", { class: "muted" }, "No sales yet.");
  const most = Math.max(...days.map((day) => day.gmv), 1);
  const step = (width - left) / days.length;
  const y = (value) => top + (height - top - bottom) * (1 - value / most);
  chart.append(svg("line", { x1: left, x2: width, y1: y(0), y2: y(0), stroke: "#e4e7ec" }));
  const label = svg("text", { x: 0, y: y(most) + 10, "font-size": 12, fill: "#667085" });
  label.textContent = money(most, days[0].currency);
  chart.append(label);
  days.forEach((day, index) => {
    const bar = svg("rect", {
      x: left + index * step + step * 0.1, width: Math.max(step * 0.8, 1), y: y(day.gmv), height: y(0) - y(day.gmv), fill: "#c2410c",
    });
    const title = svg("title", {});
    title.textContent = `${day.day}: ${money(day.gmv, day.currency)}, ${day.orders} orders`;
    bar.append(title);
    chart.append(bar);
  });
  for (const index of [0, days.length - 1]) {
    const text = svg("text", { x: left + index * step, y: height - 6, "font-size": 12, fill: "#667085" });
    text.textContent = days[index].day;
    chart.append(text);
  }
  return chart;
}

async function dashboard() {
  const who = session.who;
  $("scope").textContent = who.role === "admin" ? "The whole shop." : "Your goods and their orders.";
  const admin = who.role === "admin";
  // Every read at once: the page is as slow as its slowest read, not their sum.
  const [sales, top, low, , funnel, refunds] = await Promise.all([
    api("/v1/analytics/sales"), api("/v1/analytics/top-goods?limit=10"), api("/v1/analytics/low-stock?limit=10"), showOrdersToAct(),
    admin ? api("/v1/analytics/funnel") : null, admin ? api("/v1/analytics/refunds") : null,
  ]);
  const today = new Date().toISOString().slice(0, 10);
  const currency = sales[0]?.currency ?? top[0]?.currency ?? "CNY";
  const todays = sales.find((day) => day.day === today) ?? { gmv: 0, orders: 0, averageOrderValue: 0 };
  const gmv = sales.reduce((sum, day) => sum + day.gmv, 0);
  const orders = sales.reduce((sum, day) => sum + day.orders, 0);
  $("cards").replaceChildren(
    card("GMV today", money(todays.gmv, currency), "gmv-today"),
    card("Orders today", number(todays.orders), "orders-today"),
    card("GMV, all days", money(gmv, currency), "gmv-total"),
    card("Orders, all days", number(orders), "orders-total"),
    card("Average order value", money(orders ? Math.round(gmv / orders) : 0, currency), "aov"),
  );
  $("sales-chart").replaceChildren(salesChart(sales));
  fillTable($("top-goods"), [
    { title: "Goods", value: (goods) => goods.title },
    { title: "Paid units", number: true, value: (goods) => number(goods.unitsPaid) },
    { title: "Revenue", number: true, value: (goods) => money(goods.revenue, goods.currency) },
  ], top);
  fillTable($("low-stock"), [
    { title: "Goods", value: (goods) => goods.title },
    { title: "Available", number: true, value: (goods) => number(goods.available) },
    { title: "Threshold", number: true, value: (goods) => number(goods.threshold) },
  ], low, "nothing is low");
  $("admin-only").hidden = !admin;
  if (admin) {
    $("funnel").replaceChildren(
      card("Views", number(funnel.views), "views"), card("Cart adds", number(funnel.cartAdds), "cart-adds"),
      card("Orders placed", number(funnel.ordersPlaced), "orders-placed"), card("Orders paid", number(funnel.ordersPaid), "orders-paid"),
      card("Order → paid", percent(funnel.orderToPaid), "order-to-paid"),
    );
    $("refunds").replaceChildren(
      card("Refund rate", percent(refunds.refundRate), "refund-rate"),
      card("Refunded", money(refunds.refundedAmount, refunds.currency), "refunded-amount"),
      card("Orders refunded", number(refunds.ordersRefunded), "orders-refunded"),
    );
  }
}

/** Shows the view the URL names, signed in; a refusal is said in words, an expired sign-in asks again. */
async function route() {
  const started = performance.now();
  try { await routed(); } finally {
    // How long this view took to be usable (its reads answered and drawn), and since the page itself began loading:
    // what the browser checks measure against the 200 ms budget.
    document.body.dataset.routeMs = String(Math.round(performance.now() - started));
    document.body.dataset.readyMs = String(Math.round(performance.now()));
    document.body.dataset.route = location.hash;
  }
}

async function routed() {
  $("failure").textContent = "";
  if (!session.token) { show("sign-in"); return; }
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parameters = new URLSearchParams(query ?? "");
  const event = path.match(/^\/event\/(\d+)$/);
  const order = path.match(/^\/order\/([0-9a-f-]+)$/);
  const goods = path.match(/^\/goods\/([0-9a-f-]+)$/);
  const named = { "/events": "events", "/read-models": "read-models", "/time-travel": "time-travel", "/streams": "streams", "/goods": "goods", "/reviews": "reviews", "/promotions": "promotions" };
  const view = event ? "event" : order ? "order" : goods ? "goods-page" : named[path] ?? "dashboard";
  show(view);
  if (view !== "time-travel") stopLive();
  if (view !== "read-models") stopReadModels();
  try {
    if (view === "dashboard") await dashboard();
    if (view === "order") await showOrder(order[1]);
    if (view === "goods") await showGoodsList();
    if (view === "goods-page") await showGoodsPage(goods[1]);
    if (view === "streams") await showStreams(parameters);
    if (view === "events") await showEvents(parameters);
    if (view === "event") await showEvent(Number(event[1]), parameters);
    if (view === "read-models") await showReadModels();
    if (view === "reviews") await showReviews(parameters);
    if (view === "promotions") await showPromotions(parameters);
    if (view === "time-travel") await showTimeTravel(parameters);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) { session.end(); show("sign-in"); return; }
    $("failure").textContent = error instanceof ApiError && error.status === 403
      ? "This page is for admins." : `This page could not be read: ${error.message}`;
  }
}

wireEventFilter();
wireStreamFilter();
wireTimeTravel();
wirePromotions();
addEventListener("hashchange", route);
route();
