"""MyBlog.com on the Run page: the image to upload, and the run's artifacts."""
from __future__ import annotations

import streamlit as st

from app.ui.runs import EXECUTED
from app.ui.state import plain
from app.ui.widgets import table
from patterns.global_blog.pipeline import THUMB_MAX_SIDE, UPLOAD
from patterns.global_blog.uploads import UploadRejected, accepted_text, sample_image


def options() -> dict:
    with st.expander("Image for the thumbnail", expanded=False, icon=":material/image:"):
        file = st.file_uploader(f"Upload an image ({accepted_text()})", key="run:blog:upload",
                                help="Checked before anything is stored; without one the sample image is used.")
        side = st.slider("Longest side of the thumbnail (px)", 64, 400, THUMB_MAX_SIDE, 8, key="run:blog:side")
        image = sample_image()
        if file is not None:
            try:
                image = UPLOAD.options(file.getvalue(), file.name)["image"]
                st.success(plain(f"{image.name}: {image.format} {image.width}x{image.height}, "
                                 f"{image.size_bytes:,} bytes. It will be uploaded by the run."),
                           icon=":material/check:")
            except UploadRejected as exc:
                st.error(plain(f"{exc} Nothing was stored; the run uses the sample image."), icon=":material/block:")
        if image.name == sample_image().name:
            st.image(image.data, caption=f"Sample image {image.width}x{image.height}", width=240)
    return {"image": image, "thumb_max_side": side}


def artifacts(art: dict) -> None:
    if "email" in art and not art["email"].get("missing"):
        e = art["email"]
        st.markdown(f"**Welcome email** read back from SES: to {', '.join(e['to'])}, from `{e['source']}`  \n"
                    f"Subject: **{e['subject']}**")
        with st.container(border=True):
            st.html(e["body"])
    if "thumbnail" in art:
        t = art["thumbnail"]
        c1, c2 = st.columns([2, 1])
        original = t["original"]
        c1.image(original["data"], width=min(520, original["width"]),
                 caption=f"Original {original['width']}x{original['height']}, {original['bytes']:,} bytes")
        c2.image(t["thumbnail"]["data"], caption=f"Thumbnail {t['thumbnail']['width']}x{t['thumbnail']['height']}, "
                                                 f"{t['thumbnail']['bytes']:,} bytes")
    if "upload" in art:
        u = art["upload"]
        acc = u["transfer_acceleration"]
        st.markdown(f"**Upload** through the pre-signed URL, called over HTTP: `{u['request']}` → {u['status']} "
                    f"({u['bytes']:,} bytes, URL valid {u['url_expires_in_s']} s; the embedded backend answered "
                    "for the bucket's AWS address)"
                    + ("" if acc == "off" else f"  \nTransfer Acceleration: bucket setting {acc['bucket_setting']}, "
                                               f"upload went to the {acc['endpoint']}"))
    if "fanout_message" in art and not art["fanout_message"].get("missing"):
        message = art["fanout_message"]
        records = (message.get("s3_event") or {}).get("Records") or [{}]
        record = records[0]
        st.markdown(f"**Fan-out message** read back from the queue ({message['via']})")
        table([{"Event": record.get("eventName", ""),
                "Bucket": (record.get("s3") or {}).get("bucket", {}).get("name", ""),
                "Key": (record.get("s3") or {}).get("object", {}).get("key", ""),
                "Size (bytes)": (record.get("s3") or {}).get("object", {}).get("size", ""),
                "Topic": (message.get("sns_envelope") or {}).get("TopicArn", "")}], "art-fanout")
        if st.toggle("Raw JSON of the message", key="art-fanout-raw"):
            st.json(message, expanded=2)
    if "replication" in art:
        r = art["replication"]
        lag = r.get("lag") or {}
        if lag.get("n"):
            st.markdown(f"**Replication** {' ↔ '.join(r['regions'])}: {lag['n']} writes replicated, lag median "
                        f"{lag['median_ms']} ms, max {lag['max_ms']} ms — {EXECUTED}")
        elif r.get("note"):
            st.markdown(f"**Replication**: {r['note']}")
        table(r.get("far_reads"), "art-far")
    if "home_readers" in art:
        h = art["home_readers"]
        rows = [{"Request": r["request"], "Tried": " -> ".join(f"{t['region']} {t['status']}" for t in r["tried"]),
                 "Served from": r["served_from"] or "failed", "Failed over": r["failed_over"]}
                for r in h["reads"] + [h["write"]]]
        st.markdown(f"**Readers near {h['region']}**"
                    + (f" while {h['region']} is down: each request tried {h['region']}, then the replica"
                       if h["region_down"] else ": served by their own region"))
        table(rows, "art-home-readers")
    if "site_fetches" in art:
        with st.expander("Static site requests"):
            table(art["site_fetches"], "art-site")
    if "post_reads" in art:
        through_dax = any(r.get("dax") != "not used" for r in art["post_reads"])
        with st.expander("Post reads through DAX" if through_dax else "Post reads from DynamoDB"):
            table(art["post_reads"], "art-posts")
