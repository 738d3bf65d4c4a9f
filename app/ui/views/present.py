"""Present: the diagram across a room's screen, walked through the case's pipeline one step at a time.

No sidebar and large type; the case and options sit in a compact row on the page. Each step of
the pipeline's drive phase highlights the edges it travels and the nodes they join (the rest is
dimmed), says what happens, and, when this session has run the case with these options on the Run
page, shows that step's executed trace entry beside the modelled AWS latency and cost. Previous and
next are buttons and the arrow keys; the step and a clicked node are in the URL (``step``, ``node``).
"""
from __future__ import annotations

import streamlit as st

from app.core import format as fmt
from app.core.diagram import DotMissing, render
from app.engine.nodes import node_figures
from app.runtime.pipeline import load_pipeline
from app.ui import state
from app.ui.diagram_view import arrow_keys, inline_diagram, node_details, node_link
from app.ui.present_steps import PRESENT_STEP, clamp_step, explain, run_entry, step_from_link
from app.ui.runs import EXECUTED, MODELLED

st.html("""<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"]
  { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"]
  { padding: 0.6rem 0.8rem 2rem 0.8rem !important; max-width: 100% !important; }
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li { font-size: 1.35rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2.4rem; }
@media (max-width: 640px) {   /* on a phone Streamlit's header is opaque: start below it */
  .block-container, [data-testid="stMainBlockContainer"] { padding-top: 4rem !important; } }
</style>""")

link = state.view_keys("step", "node")
state.seed_from_url()
top = st.columns([3, 3, 1.4, 1.4, 1.2], vertical_alignment="bottom")
case = state.case_picker(top[0])
with top[1].popover("Options", icon=":material/tune:", help="The case's options, as on the other pages."):
    values = state.toggle_widgets(case, st.container())
top[4].page_link("views/explore.py", label="Explore", icon=":material/account_tree:")

pipeline = load_pipeline(case, values)
steps = [s for s in (pipeline.ordered() if pipeline is not None else []) if s.phase == "drive" and s.edges]

if PRESENT_STEP not in st.session_state:           # the link decides where a new session starts
    st.session_state[PRESENT_STEP], notice = step_from_link(link.get("step"), len(steps))
    if notice:
        state.add_notice(notice)
    st.session_state["present:case"] = case.id
elif st.session_state.get("present:case") != case.id:  # another case starts at its first step
    st.session_state.update({PRESENT_STEP: 1, "present:node": None, "present:case": case.id})
index = st.session_state[PRESENT_STEP] = clamp_step(st.session_state[PRESENT_STEP], len(steps))


def _go(delta: int) -> None:
    st.session_state[PRESENT_STEP] = clamp_step(st.session_state[PRESENT_STEP] + delta, len(steps))
    st.session_state.pop("present:node", None)


top[2].button("Previous", key="present-prev", icon=":material/arrow_back:", on_click=_go, args=(-1,),
              disabled=index <= 1, help="Previous step (left arrow key)", width="stretch")
top[3].button("Next", key="present-next", icon=":material/arrow_forward:", on_click=_go, args=(1,),
              disabled=index >= len(steps), help="Next step (right arrow key)", width="stretch")

figures = node_figures(case, values)
if "present:node" not in st.session_state and link.get("node"):
    if link["node"] in figures:
        st.session_state["present:node"] = link["node"]
    else:
        state.add_notice(f"The link names an unknown component {fmt.quoted(link['node'])}; {case.title} has "
                         + ", ".join(figures) + ".")
    st.session_state.setdefault("present:node", None)
node = st.session_state.get("present:node")
if node not in figures:
    node = None

extra = {"step": str(index)} if steps else {}
if node:
    extra["node"] = node
state.write_url(case, values, extra)
for message in state.url_warnings(case, values):
    st.warning(state.plain(message), icon=":material/link_off:")

step = steps[index - 1] if steps else None
st.title(f"{case.title}: step {index} of {len(steps)}, {step.name}" if step else case.title)

try:
    rendered = render(case, values, highlight=step.edges if step else (), focus=step is not None,
                      tooltips={k: f.tooltip() for k, f in figures.items()},
                      link=node_link({**st.query_params.to_dict()}))
except DotMissing as exc:
    st.error(str(exc))
    st.stop()

clicked = inline_diagram(rendered.svg, key="present-diagram",
                         alt=f"Architecture diagram of {case.title}" + (f", step {index}: {step.name}" if step else ""))
if clicked and clicked in figures and clicked != node:
    st.session_state["present:node"] = clicked
    st.rerun()

arrow_keys("present-prev", "present-next")     # the arrow keys press Previous and Next

if node:
    with st.container(border=True, key="present-node"):
        head = st.columns([8, 1])
        head[0].subheader("Component")
        if head[1].button("Close", key="present-node-close", icon=":material/close:"):
            st.session_state["present:node"] = None
            st.rerun()
        node_details(figures[node])

if step is None:
    st.markdown(state.plain(case.story))
    st.info(f"{case.title} has no pipeline to step through yet: the diagram and the story are the whole case."
            if pipeline is None else f"No step of {case.title}'s pipeline travels the diagram (a drive step names "
            "the edges it travels): the diagram and the story are the whole case.", icon=":material/info:")
    st.stop()

left, right = st.columns([3, 2], gap="large")
with left:
    for block in explain(case, rendered, step):
        st.markdown(block)
with right:
    entry = run_entry(st.session_state.get(f"run:{case.id}"), values, step.name)
    if entry is None:
        st.caption("No run of these options in this session yet: a run on the Run page adds each step's "
                   f"measured time here, {EXECUTED}.")
        st.page_link("views/run.py", label="Run this case", icon=":material/play_circle:")
    elif entry.get("other_options"):
        st.caption("The last run of this case used other options (" + entry["other_options"] + "); run these "
                   "options on the Run page to see this step's trace.")
        st.page_link("views/run.py", label="Run this case", icon=":material/play_circle:")
    else:
        st.markdown(f"**This step in the last run** ({entry['status']})")
        cols = st.columns(3)
        cols[0].metric(f"Measured, {EXECUTED}", fmt.duration(entry['measured_ms']),
                       help=f"{entry['calls']} AWS calls on the embedded backend.")
        cols[1].metric(f"On AWS, {MODELLED}",
                       "n/a" if entry["modelled_ms"] is None else f"{entry['modelled_ms']:,.1f} ms",
                       help="The p50 of each data-plane call of the step from the latency book, one after another.")
        cols[2].metric(f"Cost on AWS, {MODELLED}", f"{entry['modelled_usd']:.7f} USD",
                       help="The step's requests priced with the price book; free tiers not applied.")
