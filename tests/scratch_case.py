"""A case kept outside the repository, written into a folder of its own by a test: Scratch notes
(``scratch-notes``).

``NOTES`` holds every part but a model and questions (the case, a pipeline with the file it takes, a run
view); ``NOTES_SKETCH`` the case alone: a diagram and a story, no pipeline, as a case looks before it can
run. Both keep the case contract (app/core/contract.py). The ``extra_case`` fixture of tests/conftest.py
registers either for one test.
"""
from __future__ import annotations

NOTES = {
    "__init__.py": '''
        from diagrams import Cluster
        from diagrams.aws.storage import SimpleStorageServiceS3Bucket
        from diagrams.aws.general import User

        from app.core.cases import Case, Component
        from app.core.params import Toggle


        def diagram(v, kit):
            user = User("Writer", nodeid="writer")
            with Cluster("AWS Cloud - us-east-1"):
                bucket = SimpleStorageServiceS3Bucket("Notes bucket" + ("\\nversioned" if v["versioned"] else ""),
                                                      nodeid="bucket")
            user >> kit.edge("PutObject", step="put") >> bucket


        CASE = Case(
            id="scratch-notes", title="Scratch notes", tagline="A writer keeps notes in a bucket.",
            story="A writer puts notes into a bucket and reads them back.", takeaways=("S3 keeps what it is given.",),
            components=(Component("writer", "Writer", "Client", "Writes notes."),
                        Component("bucket", "Notes bucket", "Amazon S3", "Holds the notes.")),
            toggles=(Toggle("versioned", "Versioning", "bool", False, "Keep every version of a note.",
                            exam_point="S3 versioning keeps every version of an object, so an overwrite can be undone."),),
            diagram=diagram)
    ''',
    "pipeline.py": '''
        from dataclasses import dataclass

        from app.core.uploads import Upload, UploadRejected
        from app.runtime.pipeline import Check, Pipeline
        from . import CASE


        @dataclass
        class State:
            bucket: str = ""


        def note_options(data, name):
            if not data.strip():
                raise UploadRejected(f"{name} holds no text: a note is a few words.")
            return {"text": data}


        UPLOAD = Upload("a note to store", (".txt",), 1024, note_options)


        def build_pipeline(values, notes=2, text=b"hello"):
            p = Pipeline(CASE.id, state=State)

            @p.deploy("Create the notes bucket", service="s3")
            def bucket(ctx):
                ctx.state.bucket = ctx.infra.bucket("notes")

            @p.drive("Write the notes", service="s3", edges=("put",))
            def write(ctx):
                for i in range(notes):
                    ctx.client("s3").put_object(Bucket=ctx.state.bucket, Key=f"note-{i}.txt", Body=text)

            @p.verify("Notes are in the bucket", service="s3")
            def stored(ctx):
                keys = [o["Key"] for o in ctx.client("s3").list_objects_v2(Bucket=ctx.state.bucket)["Contents"]]
                ctx.artifact("notes", keys)
                ctx.artifact("first", ctx.client("s3").get_object(Bucket=ctx.state.bucket, Key=keys[0])["Body"].read().decode())
                return Check("every note was stored", len(keys) == notes, f"{len(keys)} of {notes} read back")

            return p
    ''',
    "run_view.py": '''
        import streamlit as st


        def options():
            return {"notes": st.slider("Notes to write", 1, 5, 2, key="run:scratch:notes")}


        def artifacts(art):
            st.markdown(f"**Notes stored**: {len(art['notes'])}")
    ''',
}
NOTES_SKETCH = {"__init__.py": NOTES["__init__.py"]}
