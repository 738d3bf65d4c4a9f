"""Explore: pick a case, flip its options, read the diagram, the story and the takeaways."""
import streamlit as st

from app.core.diagram import DotMissing, png_soon, render
from app.ui import state
from app.ui.widgets import table

case, values = state.sidebar()

st.title(case.title)
st.caption(case.tagline)

try:
    rendered = render(case, values)
except DotMissing as exc:
    st.error(str(exc))
    st.stop()
# The PNG is drawn while the SVG is shown, and its bytes go to the download as data: a download
# holding a function instead is registered for one script run only, so a click that still holds the
# previous run's button (a click right after a toggle flip) would find nothing and deliver no file.
png = png_soon(rendered)

st.image(rendered.svg, width="stretch",
         alt=f"Architecture diagram of {case.title} with " +
             ", ".join(f"{k}={case.toggle(k).to_text(v)}" for k, v in values.items()))

slug = case.id + "".join(f"_{k}-{case.toggle(k).to_text(v)}" for k, v in values.items())
cols = st.columns([1, 1, 1, 5])
# A download does not rerun the page (on_click="ignore"): the next click finds the same buttons.
cols[0].download_button("SVG", rendered.svg, file_name=f"{slug}.svg", mime="image/svg+xml", on_click="ignore",
                        icon=":material/download:", help="Icons are embedded: the file opens anywhere.")
cols[1].download_button("PNG", png.result(), file_name=f"{slug}.png", mime="image/png", on_click="ignore",
                        icon=":material/download:")
cols[2].download_button("DOT", rendered.dot, file_name=f"{slug}.dot", mime="text/vnd.graphviz", on_click="ignore",
                        icon=":material/download:", help="Graphviz source of this diagram.")

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("The story")
    st.write(case.story)
    st.subheader("Takeaways for the exam")
    st.markdown("\n".join(f"- {t}" for t in case.takeaways))
with right:
    st.subheader("What the options teach")
    for t in case.toggles:
        current = t.value_text(values[t.key])
        st.markdown(f"**{t.label}**: {current}  \n{t.exam_point}")
    st.subheader("Components in this view")
    table([{"Component": c.label, "Service": c.service, "Role": c.role} for c in case.present_components(values)],
          "explore-components")
