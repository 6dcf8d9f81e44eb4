"""What staff can do in the console, with the role check and the audit entry for each action. No Gradio here: the
console (rag.web.console) and the CSV export route call these, and the access tests call them directly."""

from __future__ import annotations

import logging

from rag.checking import AnswerCheck, check_answer
from rag.config import Settings
from rag.ingest import ProgressFactory, make_ingestor
from rag.types import Document, IngestReport
from rag.web.export import feedback_csv
from rag.web.feedback import ConversationRow, FeedbackRow
from rag.web.runtime import Answered, WebAssistant
from rag.web.staff import FAILED, AuditAction, Permission, StaffDirectory, StaffUser, describe_filters

log = logging.getLogger(__name__)


class ConsoleActions:
    def __init__(self, assistant: WebAssistant, settings: Settings, staff: StaffDirectory) -> None:
        self.assistant = assistant
        self.settings = settings
        self.staff = staff

    def _allow(self, user: StaffUser, permission: Permission, action: AuditAction, target: str = "") -> None:
        self.staff.require(user, permission, action, target)

    # --- inspect (granskare and admin) -----------------------------------------------------------------------
    def ask(self, user: StaffUser, question: str) -> Answered:
        """Ask as staff (logged under channel 'personal'). Raises QueueFull when busy, RagError when down."""
        self._allow(user, Permission.INSPECT, AuditAction.ASK)
        try:
            final = self.assistant.ask(question, (), channel="personal")
        except Exception as exc:
            self.staff.audit(user, AuditAction.ASK, detail=question, outcome=FAILED)
            log.info("staff question not answered: %s", type(exc).__name__)
            raise
        self.staff.audit(user, AuditAction.ASK, target=final.answer_id or "", detail=question)
        return final

    def explain(self, user: StaffUser, answer_id: str) -> ConversationRow | None:
        answer_id = (answer_id or "").strip()
        self._allow(user, Permission.INSPECT, AuditAction.EXPLAIN, answer_id)
        row = self.assistant.store.conversation(answer_id)
        self.staff.audit(user, AuditAction.EXPLAIN, target=answer_id, outcome="ok" if row else FAILED)
        return row

    def documents(self, user: StaffUser) -> list[str]:
        """The indexed documents' file names (opening one is audited, listing them is not)."""
        self._allow(user, Permission.INSPECT, AuditAction.VIEW_DOCUMENT)
        return sorted(self.assistant.service.index.documents)

    def document(self, user: StaffUser, source: str) -> Document | None:
        self._allow(user, Permission.INSPECT, AuditAction.VIEW_DOCUMENT, source)
        doc = self.assistant.service.index.documents.get(source or "")
        self.staff.audit(user, AuditAction.VIEW_DOCUMENT, target=source, outcome="ok" if doc else FAILED)
        return doc

    def check(self, user: StaffUser, question: str, draft: str) -> AnswerCheck:
        self._allow(user, Permission.INSPECT, AuditAction.CHECK_ANSWER)
        result = check_answer(self.assistant.service, question, draft)
        self.staff.audit(
            user,
            AuditAction.CHECK_ANSWER,
            detail=f"{result.supported} av {len(result.verdicts)} meningar stöds; fråga: {question}",
        )
        return result

    def feedback(
        self, user: StaffUser, *, rating: int | None, with_comment: bool, search: str, since: str
    ) -> list[FeedbackRow]:
        self._allow(user, Permission.INSPECT, AuditAction.VIEW_FEEDBACK)
        rows = self.assistant.store.feedback(
            rating=rating, with_comment=with_comment, search=search, since=since
        )
        self.staff.audit(
            user,
            AuditAction.VIEW_FEEDBACK,
            detail=describe_filters(betyg=rating, kommentar=with_comment, sok=search, fran=since)
            + f" ({len(rows)} rader)",
        )
        return rows

    def conversations(self, user: StaffUser, search: str) -> list[ConversationRow]:
        self._allow(user, Permission.INSPECT, AuditAction.VIEW_LOG)
        rows = self.assistant.store.conversations(search=search)
        self.staff.audit(
            user, AuditAction.VIEW_LOG, detail=describe_filters(sok=search) + f" ({len(rows)} rader)"
        )
        return rows

    def export_feedback(
        self, user: StaffUser, *, rating: int | None, with_comment: bool, search: str, since: str
    ) -> str:
        """The filtered feedback as CSV (see rag.web.export)."""
        self._allow(user, Permission.INSPECT, AuditAction.EXPORT_FEEDBACK)
        rows = self.assistant.store.feedback(
            rating=rating, with_comment=with_comment, search=search, since=since, limit=100_000
        )
        self.staff.audit(
            user,
            AuditAction.EXPORT_FEEDBACK,
            detail=describe_filters(betyg=rating, kommentar=with_comment, sok=search, fran=since)
            + f" ({len(rows)} rader)",
        )
        return feedback_csv(rows)

    # --- admin only ----------------------------------------------------------------------------------------------
    def reindex(
        self,
        user: StaffUser,
        progress: ProgressFactory | None = None,
        ocr_progress: ProgressFactory | None = None,
    ) -> IngestReport:
        self._allow(user, Permission.REINDEX, AuditAction.REINDEX)
        s = self.settings
        ingestor = make_ingestor(s, self.assistant.service.embedder)
        try:
            report = ingestor.run(s.corpus_dir, progress=progress, ocr_progress=ocr_progress)
        except Exception as exc:
            self.staff.audit(user, AuditAction.REINDEX, detail=str(exc), outcome=FAILED)
            raise
        self.assistant.service.reload()
        self.staff.audit(
            user,
            AuditAction.REINDEX,
            detail=f"{len(report.added)} nya, {len(report.changed)} ändrade, {len(report.removed)} borttagna, "
            f"{len(report.unchanged)} oförändrade dokument",
        )
        return report
