// Orders for people: the orders waiting for their merchant (on the dashboard), and one order's page with its lines,
// its timeline (who did what, when) and the actions its viewer may take, each a command through the public API.
import { api, card, command, el, eventColumns, fillTable, money, number, session, when } from "./api.js";

const $ = (id) => document.getElementById(id);
const actionNames = { ship: "Ship it", refund: "Answer the refund request" };

/** The dashboard's table of orders waiting for their merchant, the longest waiting first. */
export async function showOrdersToAct() {
  const waiting = await api("/v1/analytics/orders-to-act?limit=20");
  fillTable($("orders-to-act"), [
    { title: "Order", value: (order) => el("a", { href: `#/order/${order.orderId}` }, order.number) },
    { title: "Needs", value: (order) => actionNames[order.action] ?? order.action },
    { title: "Waiting since", value: (order) => when(order.since) },
    { title: "Total", number: true, value: (order) => money(order.total, order.currency) },
  ], waiting, "nothing waits");
}

/** The actions the order's state allows; the API decides whether this viewer may take them, and says why not. */
function actions(order) {
  if (order.status === "paid") {
    const form = el("form", { id: "ship-form", class: "filters" },
      el("label", {}, "Carrier ", el("input", { name: "carrier", required: true, maxlength: 100, placeholder: "SF Express" })),
      el("label", {}, "Tracking number ", el("input", { name: "trackingNumber", required: true, maxlength: 100 })),
      el("button", { type: "submit" }, "Ship"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      act(order, "ShipOrder", { carrier: data.get("carrier"), trackingNumber: data.get("trackingNumber") });
    });
    return form;
  }
  if (order.status === "refundRequested") {
    const approve = el("button", { type: "button", id: "approve-refund" }, "Approve the refund");
    approve.addEventListener("click", () => act(order, "ApproveRefund", {}));
    const reason = el("input", { name: "reason", maxlength: 500, placeholder: "why not" });
    const reject = el("button", { type: "button", id: "reject-refund", class: "secondary" }, "Reject");
    reject.addEventListener("click", () => act(order, "RejectRefund", { reason: reason.value }));
    return el("div", { class: "actions" }, approve, el("label", {}, "Reason to reject ", reason), reject);
  }
  return "";
}

async function act(order, type, data) {
  $("order-error").textContent = "";
  for (const button of $("order-actions").querySelectorAll("button")) button.disabled = true;
  try {
    await command(type, { orderId: order.orderId, ...data });
    await showOrder(order.orderId);
  } catch (error) {
    $("order-error").textContent = `${type} was refused: ${error.message}${error.code ? ` (${error.code})` : ""}`;
    for (const button of $("order-actions").querySelectorAll("button")) button.disabled = false;
  }
}

export async function showOrder(id) {
  const order = await api(`/v1/orders/${encodeURIComponent(id)}`);
  const admin = session.who?.role === "admin";
  $("order-title").textContent = `Order ${order.number}`;
  $("order-cards").replaceChildren(
    card("Status", order.status, "status"), card("Total", money(order.total, order.currency), "total"),
    card("Placed", when(order.placedAt), "placed"),
    card("Shipment", order.trackingNumber ? `${order.carrier} ${order.trackingNumber}` : "not shipped", "shipment"),
  );
  $("order-actions").replaceChildren(actions(order));
  fillTable($("order-lines"), [
    { title: "Goods", value: (line) => el("a", { href: `#/goods/${line.goodsId}` }, line.title) },
    { title: "Unit price", number: true, value: (line) => money(line.unitPrice, order.currency) },
    { title: "Quantity", number: true, value: (line) => number(line.quantity) },
    { title: "Line total", number: true, value: (line) => money(line.lineTotal, order.currency) },
  ], order.lines);
  fillTable($("order-timeline"), [
    ...eventColumns(admin),
    { title: "Who", value: (entry) => admin ? el("a", { href: `#/events?actor=${encodeURIComponent(entry.actor)}` }, entry.actor) : entry.actor },
  ], order.timeline ?? []);
}
