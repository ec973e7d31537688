// The moderation queue (`#/reviews?status=`): reviews in one status, oldest first — every goods' for an admin, their own
// goods' for a merchant — each with what a moderator does to it (approve, reject or flag with a reason, reply once),
// every action a command through the public API. Only approved reviews count in ratings and search.
import { api, command, el, fillTable, when } from "./api.js";

const $ = (id) => document.getElementById(id);
const statuses = ["pending", "flagged", "rejected", "approved"];

export async function showReviews(parameters) {
  const status = statuses.includes(parameters.get("status")) ? parameters.get("status") : "pending";
  const after = parameters.get("after");
  $("review-tabs").replaceChildren(...statuses.map((name) =>
    el("a", { href: `#/reviews?status=${name}`, "aria-current": name === status ? "page" : undefined }, name)));
  const reviews = await api(`/v1/reviews?status=${status}&limit=100${after ? `&after=${encodeURIComponent(after)}` : ""}`);
  const titles = new Map();
  await Promise.all([...new Set(reviews.map((review) => review.goodsId))].map(async (goodsId) => {
    titles.set(goodsId, (await api(`/v1/goods/${goodsId}`)).title);
  }));
  fillTable($("review-queue"), [
    { title: "Goods", value: (review) => el("a", { href: `#/goods/${review.goodsId}` }, titles.get(review.goodsId) ?? review.goodsId) },
    { title: "Rating", number: true, value: (review) => `${review.rating} ★` },
    { title: "Review", value: (review) => review.text || "(no text)" },
    { title: "Posted", value: (review) => when(review.postedAt) },
    { title: status === "approved" ? "Reply" : "Reason", value: (review) => status === "approved" ? review.reply ?? "" : review.reason },
    { title: "Moderate", value: (review) => actions(review, status) },
  ], reviews, `no ${status} reviews`);
}

/** The verdicts that change this review's status, a reason for rejecting or flagging, and the shop's one reply. */
function actions(review, status) {
  const reason = el("input", { name: "reason", maxlength: 500, placeholder: "reason", "aria-label": "Reason" });
  const verdicts = { approve: "Approve", reject: "Reject", flag: "Flag" };
  const taken = { approve: "approved", reject: "rejected", flag: "flagged" };
  const buttons = Object.entries(verdicts)
    .filter(([verdict]) => taken[verdict] !== status && !(verdict === "flag" && status === "rejected"))
    .map(([verdict, label]) => {
      const button = el("button", { type: "button", "data-verdict": verdict, class: verdict === "approve" ? undefined : "secondary" }, label);
      button.addEventListener("click", () =>
        act(status, "ModerateReview", { goodsId: review.goodsId, reviewId: review.reviewId, verdict, reason: reason.value }));
      return button;
    });
  const parts = [...buttons, status === "pending" || status === "flagged" ? reason : ""];
  if (!review.reply) {
    const reply = el("input", { name: "reply", maxlength: 2000, placeholder: "public reply", "aria-label": "Reply" });
    const send = el("button", { type: "button", class: "secondary", "data-reply": "" }, "Reply");
    send.addEventListener("click", () =>
      act(status, "ReplyToReview", { goodsId: review.goodsId, reviewId: review.reviewId, text: reply.value }));
    parts.push(reply, send);
  }
  return el("div", { class: "actions" }, ...parts);
}

async function act(status, type, data) {
  $("review-error").textContent = "";
  for (const button of $("review-queue").querySelectorAll("button")) button.disabled = true;
  try {
    const answer = await command(type, data);
    const position = answer.events?.at(-1)?.position;
    // The queue as of the command: the reviews model waits until it has folded it.
    location.hash = `#/reviews?status=${status}${position ? `&after=${position}` : ""}`;
  } catch (error) {
    $("review-error").textContent = `${type} was refused: ${error.message}${error.code ? ` (${error.code})` : ""}`;
    for (const button of $("review-queue").querySelectorAll("button")) button.disabled = false;
  }
}
