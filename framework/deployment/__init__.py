"""Deploying a finished run: export it into a serving artefact, serve it over HTTP, the `mlsd export /
predict / serve` commands. Built on `framework.serving` (artefact, encoding, backends, index) and on the
task kinds (a video artefact rebuilds the two-stage ranker's features), so it sits above both."""
