"""Directory speed: 10,000 entries in a temporary database; word search and nearest-10.

    .venv/bin/python -m bench.directory_bench [--entries 10000] [--runs 300]

Prints the median and p95 of each query (target: median under 20 ms) and the query
plans, which should use the FTS5 index and dir_entry_geo. A script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db import directory
from db.database import Database
from db.directory_csv import write_csv
from db.directory_import import import_file
from db.migrate import migrate

CATEGORIES = [
    "employment",
    "documents",
    "housing",
    "health",
    "addiction",
    "mental_health",
    "legal_aid",
    "social_benefits",
    "education",
    "basic_needs",
    "family",
    "peer_support",
]
WORDS_KK = [
    "жұмыс",
    "орталық",
    "көмек",
    "кеңес",
    "баспана",
    "дәрігер",
    "оқу",
    "заң",
    "құжат",
    "тамақ",
    "отбасы",
    "қолдау",
]
WORDS_RU = [
    "работа",
    "центр",
    "помощь",
    "консультация",
    "жильё",
    "врач",
    "обучение",
    "право",
    "документ",
    "еда",
    "семья",
    "поддержка",
]
WORDS_EN = [
    "work",
    "centre",
    "help",
    "advice",
    "housing",
    "doctor",
    "training",
    "law",
    "document",
    "food",
    "family",
    "support",
]
CITIES = [
    ("Ақтөбе", "Актобе", "Aktobe", 50.28, 57.17),
    ("Қандыағаш", "Кандыагаш", "Kandyagash", 49.47, 57.42),
    ("Ембі", "Эмба", "Emba", 48.83, 58.14),
    ("Алматы", "Алматы", "Almaty", 43.24, 76.89),
    ("Астана", "Астана", "Astana", 51.17, 71.45),
    ("Шымкент", "Шымкент", "Shymkent", 42.32, 69.59),
    ("Қарағанды", "Караганда", "Karaganda", 49.81, 73.09),
    ("Атырау", "Атырау", "Atyrau", 47.09, 51.92),
]


def entries(count: int, rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for i in range(count):
        kk, ru, en, lat, lon = rng.choice(CITIES)
        words = rng.sample(range(len(WORDS_KK)), 3)
        rows.append(
            {
                "id": f"bench-{i}",
                "organization_id": f"org-{i % 700}",
                "organization_name_kk": f"Ұйым {i % 700}",
                "organization_name_ru": f"Организация {i % 700}",
                "organization_name_en": f"Organisation {i % 700}",
                "name_kk": " ".join(WORDS_KK[w] for w in words) + f" {i}",
                "name_ru": " ".join(WORDS_RU[w] for w in words) + f" {i}",
                "name_en": " ".join(WORDS_EN[w] for w in words) + f" {i}",
                "description_kk": " ".join(rng.choices(WORDS_KK, k=12)),
                "description_ru": " ".join(rng.choices(WORDS_RU, k=12)),
                "description_en": " ".join(rng.choices(WORDS_EN, k=12)),
                "categories": ";".join(
                    sorted(set(rng.sample(CATEGORIES, 2)), key=CATEGORIES.index)
                ),
                "city_kk": kk,
                "city_ru": ru,
                "city_en": en,
                "latitude": f"{lat + rng.uniform(-0.3, 0.3):.5f}",
                "longitude": f"{lon + rng.uniform(-0.3, 0.3):.5f}",
                "hours": "Mo-Fr 09:00-13:00,14:00-18:00",
                "accepts_criminal_record": rng.choice(["yes", "no", "unknown"]),
            }
        )
    return rows


async def timed(runs: int, work: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        await work(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def main(count: int, runs: int) -> None:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.sqlite3")
        await db.connect()
        await migrate(db)
        started = time.perf_counter()
        rows = entries(count, rng)
        created = 0
        for first in range(0, len(rows), 2000):  # files of 2,000 rows stay under the 5 MB limit
            _, result = await import_file(db, write_csv(rows[first : first + 2000]), actor_id=None)
            created += result.created
        print(
            f"Imported {created} entries in {time.perf_counter() - started:.1f} s "
            f"(CSV files of 2,000 rows, each validated, then one transaction)"
        )

        # Words in thousands of names; words only in the rest (category names, cities), so
        # the second pass runs; several words; and a word found nowhere.
        queries = [
            "жұмыс",
            "ЦЕНТР",
            "doctor",
            "Қандыағаш көмек",
            "зависимости",
            "pensions",
            "law 42",
            "демо",
        ]
        median, p95 = await timed(runs, lambda i: directory.search(db, queries[i % len(queries)]))
        hits = len(await directory.search(db, "жұмыс"))
        print(
            f"word search      median {median:6.2f} ms   p95 {p95:6.2f} ms   ({hits} hits for «жұмыс», capped at 50)"
        )

        points = [(rng.uniform(42, 52), rng.uniform(51, 78)) for _ in range(runs)]
        median, p95 = await timed(
            runs, lambda i: directory.nearest(db, points[i][0], points[i][1], limit=10)
        )
        print(f"nearest-10       median {median:6.2f} ms   p95 {p95:6.2f} ms")
        median, p95 = await timed(
            runs,
            lambda i: directory.nearest(db, points[i][0], points[i][1], category_id=4, limit=10),
        )
        print(f"nearest-10 in a category  median {median:6.2f} ms   p95 {p95:6.2f} ms")

        print("\nEXPLAIN QUERY PLAN, nearest (bounding box):")
        for row in await db.fetchall(
            "EXPLAIN QUERY PLAN SELECT e.id, e.latitude, e.longitude FROM dir_entry e "
            "INDEXED BY dir_entry_geo WHERE e.latitude BETWEEN ? AND ? "
            "AND e.longitude BETWEEN ? AND ? AND e.hidden = 0",
            (49.4, 49.5, 57.3, 57.5),
        ):
            print("  ", row["detail"])
        print("EXPLAIN QUERY PLAN, word search:")
        for expression in ('{name} : ("жумыс"*)', '"жумыс"*'):
            for row in await db.fetchall(
                "EXPLAIN QUERY PLAN " + directory.SEARCH_SQL, (expression, 50)
            ):
                print("  ", row["detail"])
        for row in await db.fetchall(
            "EXPLAIN QUERY PLAN SELECT id FROM dir_entry WHERE hidden = 1"
        ):
            print("  ", row["detail"])
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.runs))
