"""Routing decisions per second with the full rule set loaded.

    python bench/routing.py [--decisions 200000] [--runs 5]

Builds an embedded database from the migrations and data/ (no server needed),
loads the routing table (every active rule, service area, akimat and
organization) and routes (category, district, place) triples drawn from the
sample appeals, one core. Prints JSON: ``decisions_per_s`` (the rule lookup the
pipeline does per appeal) and ``routes_per_s`` (text in: nlp annotation plus the
decision, as ``civicdesk route`` does), medians of the runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml
from sqlalchemy import func, select

from core import db
from core.clock import local, now
from core.migrate import upgrade
from core.settings import Settings, override_settings
from nlp.annotate import annotate, load_lexicon
from routing.models import RoutingRule
from routing.service import RoutingTable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        settings = Settings(environment="test", database_url=url)
        with override_settings(settings):
            upgrade(url)
            db.configure(settings)
            from civicdesk.bootstrap import load_all_reference

            with db.transaction() as session:
                load_all_reference(session, settings)
            with db.session_factory()() as session:
                table = RoutingTable.load(session)
                rules = session.scalar(
                    select(func.count())
                    .select_from(RoutingRule)
                    .where(RoutingRule.superseded_at.is_(None))
                )
            db.get_engine().dispose()
    lexicon = load_lexicon(settings.data_dir)
    samples = yaml.safe_load((settings.data_dir / "sample_appeals.yaml").read_text("utf-8"))
    districts = [*table.akimats, None]
    rng = random.Random(0)
    places = ["проспект Абая, 52", "двор дома в мкр Самал-2", "ул. Толе би", None]
    triples = [
        (sample["category"], rng.choice(districts), rng.choice(places)) for sample in samples
    ]
    texts = [sample["text"].replace("{place}", "Самал-2") for sample in samples]
    today = local(now()).date()

    decision_rates, route_rates = [], []
    routed = 0
    for _ in range(args.runs):
        started = time.perf_counter()
        for index in range(args.decisions):
            category, district, place = triples[index % len(triples)]
            decision = table.decide(
                category_code=category, district_code=district, on=today, place_text=place
            )
            routed += decision.routed
        decision_rates.append(args.decisions / (time.perf_counter() - started))
        count = max(args.decisions // 20, 1)
        started = time.perf_counter()
        for index in range(count):
            annotation = annotate(texts[index % len(texts)], lexicon)
            table.decide(
                category_code=annotation.category_code,
                district_code=annotation.district_code,
                on=today,
                place_text=texts[index % len(texts)],
            )
        route_rates.append(count / (time.perf_counter() - started))
    print(
        json.dumps(
            {
                "benchmark": "routing",
                "active_rules": rules,
                "categories": len(table.rules),
                "organizations": len(table.organizations),
                "service_areas": len(table.service_areas),
                "decisions_per_s": round(statistics.median(decision_rates)),
                "routes_per_s": round(statistics.median(route_rates)),
                "routed_share": round(routed / (args.decisions * args.runs), 3),
                "runs": args.runs,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
