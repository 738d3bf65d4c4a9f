"""Entry point: `streamlit run app/ui/streamlit_app.py`."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.runtime.admission import pages_first  # noqa: E402

# The favicon is a file of the app: a ":material/...:" page icon makes every browser fetch it from a public host.
FAVICON = ROOT / "assets" / "favicon.png"
st.set_page_config(page_title="Serverless Architecture Explorer", page_icon=str(FAVICON), layout="wide")

PAGES = [
    st.Page("views/explore.py", title="Explore", icon=":material/account_tree:", default=True),
    st.Page("views/whatif.py", title="What if", icon=":material/compare_arrows:"),
    st.Page("views/run.py", title="Run", icon=":material/play_circle:"),
    st.Page("views/study.py", title="Study", icon=":material/school:"),
    st.Page("views/present.py", title="Present", icon=":material/slideshow:"),
]

page = st.navigation(PAGES)
st.session_state["_page"] = page.url_path or "explore"     # app.ui.state.PAGE_KEY: notices follow the page
with pages_first().page():     # while a page draws, runs in flight give way at their next AWS call
    page.run()
