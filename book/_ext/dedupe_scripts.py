"""Sphinx extension: drop repeated ``<script>`` entries from every page.

With jupyter-book 1.0 and sphinx-thebe 0.3, thebe's inline configuration script is added
twice (once with filename ``None``, once with ``''``, so Sphinx's own check misses it), and the
second ``const THEBE_JS_URL`` stops the page's JavaScript with "has already been declared".
"""


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
