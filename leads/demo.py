"""Made-up people for demo and bench data: the names seed_demo and the benches draw from."""

# fmt: off
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Ines", "Jonas", "Keiko", "Liam",
         "María", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Víctor", "Wen", "Yusuf", "Zoë"]
LAST = ["Abbott", "Becker", "Castillo", "Dubois", "Eriksen", "Fujita", "García", "Hughes", "Ivanova", "Jensen",
        "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka"]
# fmt: on
