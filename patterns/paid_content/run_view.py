"""MyVideo on the Run page: who was refused what and why, the URLs handed out, and the cache key trap."""
from __future__ import annotations

import json

import streamlit as st

from app.engine.books import load_latency_book
from app.ui.runs import EXECUTED, MODELLED
from app.ui.widgets import table

FAR_VIEWERS = ("eu-central-1", "ap-southeast-2", "sa-east-1")


def options() -> dict:
    return {}


def _url_row(kind: str, url: str) -> dict:
    base, _, query = url.partition("?")
    return {"URL kind": kind, "address": base, "signature parameters": ", ".join(
        p.split("=")[0] for p in query.split("&") if p)}


def artifacts(art: dict) -> None:
    if "not_premium" in art:
        r = art["not_premium"]
        st.markdown(f"**A user who is not premium asks for a URL** → **{r['status']}**: {r.get('message', '')}")
    if "direct_s3_get" in art:
        d = art["direct_s3_get"]
        st.markdown(f"**A direct read of the bucket**: `{d['request']}` → **{d['status']}** ({d['reason']})")
        policy = d["policy"]
        if policy.startswith("{"):
            st.caption("The bucket policy that decided: only the distribution may read")
            st.code(json.dumps(json.loads(policy), indent=2), language="json")
    if "viewer" in art:
        st.markdown(f"**What viewers were answered** — {EXECUTED}")
        table([{"Request": v["request"], "Status": v["status"], "Edge cache": v.get("cache", ""),
                "Why refused": v.get("refused", "")} for v in art["viewer"]], "art-viewer")
    grant = art.get("grant") or {}
    if grant.get("url"):
        rows = [_url_row("CloudFront signed URL (canned policy)" if grant["kind"] == "cloudfront-canned"
                         else "S3 pre-signed URL (Signature Version 4)", grant["url"])]
        if grant.get("custom"):
            rows.append(_url_row("CloudFront signed URL (custom policy)", grant["custom"]["url"]))
        st.markdown("**The URLs the generator handed out** (query strings shortened to the names of their "
                    "parameters; the embedded backend served them)")
        table(rows, "art-urls")
        if grant.get("cookies"):
            st.caption(f"Signed cookies for {grant['cookies']['resource']}: "
                       + ", ".join(grant["cookies"]["cookies"]))
        if grant["kind"] == "s3-presigned":
            book = load_latency_book()
            far = [{"Viewer near": region, "Round trip to us-east-1 (ms)": round(book.rtt(region, "us-east-1").p50),
                    "CloudFront edge near the viewer (ms)": round(book.user_to_edge().p50)} for region in FAR_VIEWERS]
            st.markdown(f"**Viewers far from the bucket** ({MODELLED}: p50 round trips from the latency book): "
                        "every S3 pre-signed download crosses to us-east-1, where a CloudFront edge would "
                        "answer cached segments nearby")
            table(far, "art-far-viewers")
    if "cache_trap" in art:
        st.markdown("**The stage cache key trap**: GET /premium read by two users, first with the cache keyed by "
                    "method and path only (unsafe), then with the Authorization header in the key (safe)")
        table([{"Cache key": t["cache key"], "Caller": t["caller"], "Stage cache": t["cache"],
                "Lambda ran": "yes" if t["lambda_invoked"] else "no", "Answer is about": t["answer about"]}
               for t in art["cache_trap"]], "art-cache-trap")
    if "registrations" in art:
        with st.expander("Premium registrations and the table"):
            table(art["registrations"], "art-registrations")
            table(art.get("premium_table"), "art-premium-table")
