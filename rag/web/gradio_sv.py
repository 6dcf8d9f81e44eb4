"""Gradio's own strings in Swedish, whatever the visitor's browser language.

Gradio ships a Swedish translation of its built-in strings and picks the language from ``navigator.language``.
Three things make every page Swedish:

- ``static/gradio-sv.js`` (served at :data:`SCRIPT_ROUTE`, put first in each Gradio page's ``<head>`` by
  rag.web.headers) tells Gradio Swedish before Gradio starts, and rewrites the few labels Gradio hard-codes in
  English ("Copy", "Fullscreen", "More tabs", "bot's message: …") as they appear;
- :data:`I18N` fills in the keys Gradio's Swedish translation lacks (without them Gradio falls back to English).
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

SCRIPT_ROUTE = "/gradio-sv.js"
SCRIPT_FILE = Path(__file__).with_name("static") / "gradio-sv.js"
SCRIPT_TAG = f'<script src="{SCRIPT_ROUTE}"></script>'.encode()

MISSING_SV = {
    "chatbot.complete": "Klar",
    "chatbot.copied_message": "Meddelandet är kopierat",
    "chatbot.copy_message": "Kopiera meddelandet",
    "common.complete": "Klart",  # Gradio's progress bar asks for it; no language has it
    "common.back_to_app": "Appen",
    "common.back_to_app_description": "Tillbaka till appen",
    "common.download_all": "Ladda ner alla",
    "common.progress": "Förlopp",
    "common.record": "Spela in",
    "common.run": "Kör",
    "common.runs": "Körningar",
    "common.runs_description": "Visa körningar som sparats i den här webbläsaren",
    "common.stop_recording": "Stoppa inspelningen",
    "dataframe.clear_filter": "Rensa filter",
    "dataframe.filter": "Filtrera",
    "dataframe.import_empty_file": "Filen är tom.",
    "dataframe.import_fixed_columns": "Tabellen tar exakt {expected} kolumner, filen har {actual}.",
    "dataframe.import_fixed_rows": "Tabellen tar exakt {expected} rader, filen har {actual}.",
    "dataframe.import_no_column_names": "Filen har inga kolumnnamn.",
    "dataframe.import_ragged_row": "Rad {line} i filen har {fields} fält, rubrikraden har {columns}.",
    "dataframe.import_static_columns": "Det går inte att importera till en tabell med skrivskyddade kolumner.",
    "status.queue_position": "I kö: {position} av {size}",
}

I18N = gr.I18n(sv=MISSING_SV)
