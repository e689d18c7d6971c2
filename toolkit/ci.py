"""Ready-to-paste configuration that splits the integration suite over a CI system's parallel
jobs: each job runs one shard (`toolkit test.shard`) and keeps the durations it measured;
a last job merges them (`toolkit test.durations --merge`) so that the next run's split is
balanced on the whole suite's times, and merges the shards' results into one HTML report
(`toolkit report`). GitHub Actions (a matrix), GitLab CI (`parallel:`) and a Kubernetes
Indexed Job (one pod per index, a shared volume for the durations and results)."""

from __future__ import annotations

import json
import shlex

from toolkit.errors import ToolkitError

FORMATS = ("json", "github", "gitlab", "k8s")
INSTALL = "pip install toolkit-dbtest pytest"


class CIError(ToolkitError):
    pass


def merge_command(pattern: str) -> str:
    """`toolkit test.durations --merge F …` over the files ``pattern`` (a shell glob) finds."""
    return f'toolkit test.durations $(for f in {pattern}; do echo --merge "$f"; done)'


def render(fmt: str, shards: int, image: str | None = None) -> str:
    if fmt not in FORMATS:
        raise CIError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(list(range(1, shards + 1)))
    if fmt == "github":
        return GITHUB.format(shards=shards, matrix=json.dumps(list(range(1, shards + 1))),
                             install=INSTALL, merge=merge_command("shards/*.json"))
    if fmt == "gitlab":
        return GITLAB.format(shards=shards, install=INSTALL,
                             merge=merge_command(".toolkit/durations-shard-*.json"))
    if not image:
        raise CIError("ci.matrix --format k8s needs --image IMAGE: the image the tests run in "
                      "(your project as its working directory, with toolkit and pytest "
                      "installed)")
    shard = ("cp /durations/durations.json .toolkit/ 2>/dev/null; toolkit test.shard; code=$?; "
             "cp .toolkit/durations-shard-*.json .toolkit/report-shard-* /durations/; "
             "exit $code")
    merge = (f"{merge_command('/durations/durations-shard-*.json')} && "
             "cp .toolkit/durations.json /durations/ && "
             "toolkit report /durations/report-shard-*.json -o /durations/report.html")
    return K8S.format(shards=shards, image=json.dumps(image), shard=json.dumps(shard),
                      merge=json.dumps(merge), quoted=shlex.quote(image))


GITHUB = """\
# .github/workflows/integration.yml: the integration suite over {shards} parallel jobs
# (toolkit ci.matrix --format github --shards {shards})
name: integration
on: [push, pull_request]

jobs:
  # the split every shard must run: a shard on another checkout or other stored durations
  # refuses in one line (TOOLKIT_SHARD_PLAN)
  plan:
    runs-on: ubuntu-latest
    outputs:
      plan: ${{{{ steps.plan.outputs.plan }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - uses: actions/cache/restore@v4
        with:
          path: .toolkit/durations.json
          key: toolkit-durations-${{{{ github.run_id }}}}
          restore-keys: toolkit-durations-
      - run: {install}
      - id: plan
        run: echo "plan=$(toolkit test.shard --plan-id --shards {shards})" >> "$GITHUB_OUTPUT"

  shard:
    needs: plan
    runs-on: ubuntu-latest
    env:
      TOOLKIT_SHARD_PLAN: ${{{{ needs.plan.outputs.plan }}}}
    strategy:
      fail-fast: false
      matrix:
        shard: {matrix}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      # the durations the last run merged (none on the first run: the split goes by count)
      - uses: actions/cache/restore@v4
        with:
          path: .toolkit/durations.json
          key: toolkit-durations-${{{{ github.run_id }}}}
          restore-keys: toolkit-durations-
      - run: {install}
      - run: toolkit test.shard --shard ${{{{ matrix.shard }}}} --shards {shards}
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: durations-shard-${{{{ matrix.shard }}}}
          path: .toolkit/durations-shard-*.json
          if-no-files-found: ignore
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: report-shard-${{{{ matrix.shard }}}}
          path: .toolkit/report-shard-*
          if-no-files-found: ignore

  durations:
    needs: shard
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - run: {install}
      - uses: actions/download-artifact@v4
        with: {{pattern: durations-shard-*, path: shards, merge-multiple: true}}
      - run: {merge}
      - uses: actions/cache/save@v4
        with:
          path: .toolkit/durations.json
          key: toolkit-durations-${{{{ github.run_id }}}}

  report:
    needs: shard
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
        with: {{python-version: "3.11"}}
      - run: {install}
      - uses: actions/download-artifact@v4
        with: {{pattern: report-shard-*, path: shards, merge-multiple: true}}
      # one page of every shard: open report.html from the run's artifacts
      - run: toolkit report shards/report-shard-*.json -o report.html
      - uses: actions/upload-artifact@v4
        with: {{name: report, path: report.html}}
"""

GITLAB = """\
# .gitlab-ci.yml: the integration suite over {shards} parallel jobs
# (toolkit ci.matrix --format gitlab --shards {shards})
stages: [test, durations]

plan:  # the split every shard must run: one on another checkout or durations refuses
  stage: .pre
  image: python:3.11
  cache:
    key: toolkit-durations
    paths: [.toolkit/durations.json]
    policy: pull
  script:
    - {install}
    - echo "TOOLKIT_SHARD_PLAN=$(toolkit test.shard --plan-id --shards {shards})" > plan.env
  artifacts:
    reports:
      dotenv: plan.env  # TOOLKIT_SHARD_PLAN for every job of the later stages

integration:
  stage: test
  image: python:3.11
  parallel: {shards}  # toolkit test.shard reads CI_NODE_INDEX / CI_NODE_TOTAL
  cache:  # the durations the last run merged
    key: toolkit-durations
    paths: [.toolkit/durations.json]
    policy: pull
  script:
    - {install}
    - toolkit test.shard
  artifacts:
    when: always
    paths: [.toolkit/durations-shard-*.json, .toolkit/report-shard-*]

durations:
  stage: durations
  image: python:3.11
  when: always
  needs: [integration]
  cache:
    key: toolkit-durations
    paths: [.toolkit/durations.json]
    policy: pull-push
  script:
    - {install}
    - {merge}

report:  # one page of every shard: browse report.html in the pipeline's artifacts
  stage: durations
  image: python:3.11
  when: always
  needs: [integration]
  script:
    - {install}
    - toolkit report .toolkit/report-shard-*.json -o report.html
  artifacts:
    when: always
    paths: [report.html]
"""

K8S = """\
# A Kubernetes Indexed Job: {shards} pods, one shard each (toolkit test.shard reads
# JOB_COMPLETION_INDEX, and TOOLKIT_SHARDS for the total), their durations and results on a
# shared volume; the merge Job leaves the next split's durations and report.html there.
# (toolkit ci.matrix --format k8s --shards {shards} --image {quoted})
# The merge Job is created suspended, and started once every shard is done:
#   kubectl apply -f integration.yaml
#   kubectl wait --for=condition=complete --timeout=1h job/toolkit-integration
#   kubectl patch job/toolkit-durations --type=merge -p '{{"spec":{{"suspend":false}}}}'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: toolkit-durations
  labels: {{app.kubernetes.io/name: toolkit, app.kubernetes.io/component: durations}}
spec:
  accessModes: [ReadWriteMany]
  resources:
    requests: {{storage: 64Mi}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: toolkit-integration
  labels: {{app.kubernetes.io/name: toolkit, app.kubernetes.io/component: shards}}
spec:
  completionMode: Indexed
  completions: {shards}
  parallelism: {shards}
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: shard
          image: {image}
          command: ["sh", "-c", {shard}]
          env:
            - {{name: TOOLKIT_SHARDS, value: "{shards}"}}
          volumeMounts:
            - {{name: durations, mountPath: /durations}}
      volumes:
        - name: durations
          persistentVolumeClaim: {{claimName: toolkit-durations}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: toolkit-durations
  labels: {{app.kubernetes.io/name: toolkit, app.kubernetes.io/component: durations}}
spec:
  suspend: true
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: merge
          image: {image}
          command: ["sh", "-c", {merge}]
          volumeMounts:
            - {{name: durations, mountPath: /durations}}
      volumes:
        - name: durations
          persistentVolumeClaim: {{claimName: toolkit-durations}}
"""
