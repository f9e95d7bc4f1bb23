"""Reading an owner's free-text "other" reason: a small French + English lexicon.

Pure. `read_reason(text)` returns the check-in reason codes the text speaks of (possibly
several: "too many client projects, pipeline is full anyway" is both `busy` and
`pipeline_full`), or an empty tuple when nothing is recognised (the text is then still shown
back to the owner, it just does not point anywhere).

Normalisation: lower case, accents removed (NFKD), apostrophes and punctuation become spaces,
spaces collapsed. A lexicon entry matches when it starts a word of the normalised text: "oubli"
matches "oublié", "oublier" and "j'ai oublié"; "deliver" matches "delivering". Entries are written
already normalised. A leading negation never flips a reason (the lexicon lists the negative
phrasings themselves: "pas besoin", "didn t plan").

Why these words (the article's definitions):
- `no_time_set_aside` (unaware): prospecting had no place in the week and slipped without a
  decision: forgot, didn't plan it, no slot, no routine, didn't notice.
- `busy` (points weakly to unaware): busy delivering for clients. Every type is busy; it says
  *that* prospecting slipped more than *why*, so it weighs half a stated reason, and a text
  that also gives a why ("too many client projects, pipeline is full anyway") is read as the
  why only.
- `pipeline_full` (intentional): a decision because of the pipeline: enough work, quotes
  waiting, can't take more, would have to turn clients away.
- `no_need` (comfortable): things feel fine: no need, good month, lazy (the article: they call it
  lazy; it is comfort), no rush, didn't feel like it.
"""

from __future__ import annotations

import re

from bot.services.text_folding import fold

LEXICON: dict[str, tuple[str, ...]] = {
    "pipeline_full": (
        # English
        "pipeline",
        "enough work",
        "enough clients",
        "enough projects",
        "enough on my plate",
        "plenty of work",
        "plenty on",
        "fully booked",
        "booked up",
        "booked solid",
        "is full",
        "s full",
        "are full",
        "am full",
        "waiting for answers",
        "waiting on quotes",
        "waiting to hear",
        "waiting for replies",
        "quotes out",
        "proposals out",
        "can t take more",
        "cannot take more",
        "couldn t take more",
        "take on more",
        "turn clients away",
        "turn people away",
        "say no to clients",
        "too many quotes",
        "too many proposals",
        "too many projects",
        "capacity",
        # français
        "carnet plein",
        "carnet de commande",
        "carnet est plein",
        "assez de travail",
        "assez de boulot",
        "assez de clients",
        "assez de projets",
        "assez de devis",
        "devis en attente",
        "devis en cours",
        "attente de reponse",
        "attends des reponses",
        "attends les reponses",
        "attends le retour",
        "beaucoup de projets en cours",
        "projets en cours",
        "complet",
        "peux pas prendre plus",
        "pourrais pas prendre plus",
        "prendre plus",
        "refuser des clients",
        "refuser du travail",
        "dire non",
        "trop de devis",
        "deja assez",
        "affaires en cours",
        "pas la capacite",
    ),
    "no_time_set_aside": (
        # English
        "forgot",
        "forget",
        "no time set aside",
        "didn t set time",
        "did not set time",
        "didn t plan",
        "did not plan",
        "not planned",
        "no slot",
        "no routine",
        "no system",
        "slipped",
        "slip",
        "didn t think",
        "did not think",
        "didn t notice",
        "did not notice",
        "without noticing",
        "never got round",
        "never got around",
        "not scheduled",
        "wasn t scheduled",
        "no time blocked",
        "disorganis",
        "disorganiz",
        # français
        "oubli",
        "pas prevu",
        "pas planifie",
        "pas de creneau",
        "aucun creneau",
        "pas bloque",
        "pas pense",
        "y ai pas pense",
        "pas eu le reflexe",
        "passe a la trappe",
        "passee a la trappe",
        "sans m en rendre compte",
        "pas de methode",
        "pas de routine",
        "pas organise",
        "desorganis",
        "pas cale",
        "rien de prevu",
        "pas dans l agenda",
        "pas dans mon agenda",
    ),
    "busy": (
        # English
        "busy",
        "client project",
        "client work",
        "clients work",
        "deliver",
        "deadline",
        "rush",
        "swamped",
        "snowed under",
        "too much work",
        "overloaded",
        "flat out",
        "no time",
        "urgent",
        "emergency",
        "firefight",
        # français
        "occupe",
        "projets clients",
        "projet client",
        "travail client",
        "boulot client",
        "livr",
        "debord",
        "trop de travail",
        "trop de boulot",
        "surcharg",
        "chantier",
        "charrette",
        "urgence",
        "pas le temps",
        "pas eu le temps",
        "plein de travail",
        "la tete dans le guidon",
        "sous l eau",
        "production",
    ),
    "no_need": (
        # English
        "no need",
        "don t need",
        "do not need",
        "didn t need",
        "lazy",
        "comfortable",
        "doing well",
        "going well",
        "things are good",
        "all good",
        "good month",
        "good year",
        "good quarter",
        "didn t feel like",
        "did not feel like",
        "no rush",
        "no hurry",
        "easy",
        "chill",
        "relax",
        "why bother",
        "enough money",
        "fine for now",
        # français
        "pas besoin",
        "besoin de rien",
        "paress",
        "flemme",
        "confortable",
        "tranquille",
        "ca va bien",
        "ca roule",
        "ca marche bien",
        "tout va bien",
        "bon mois",
        "bonne annee",
        "bon trimestre",
        "pas envie",
        "pas presse",
        "rien ne presse",
        "pas d urgence",
        "on verra",
        "assez d argent",
        "a quoi bon",
        "detendu",
        "cool",
    ),
}
# When one text matches several entries, every reason is kept, in this order.
ORDER = ("pipeline_full", "no_time_set_aside", "no_need", "busy")
MAX_SHOWN = 80  # characters of the owner's words shown back as evidence


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    plain = fold(text).replace("œ", "oe").replace("æ", "ae")
    return " ".join(re.split(r"[^a-z0-9]+", plain)).strip()


def read_reason(text: str | None) -> tuple[str, ...]:
    """The reason codes a free-text answer speaks of, strongest first (see module docstring)."""
    if not text:
        return ()
    padded = f" {normalise(text)} "
    found = {code for code, phrases in LEXICON.items() if any(f" {p}" in padded for p in phrases)}
    # "busy" says *that* prospecting slipped; next to a why ("pipeline is full anyway",
    # "no rush", "no time set aside") the why is the reading
    if len(found) > 1:
        found.discard("busy")
    return tuple(code for code in ORDER if code in found)


def shown(text: str) -> str:
    """The owner's words as shown back: one line, at most MAX_SHOWN characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_SHOWN else line[: MAX_SHOWN - 1].rstrip() + "…"
