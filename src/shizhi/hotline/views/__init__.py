"""Server-rendered pages of the hotline (接诉即办): the citizen portal, the intake desk, the dispatch queue, a
unit's inbox, the supervisor's board, cases, the knowledge base and the dispatch catalogue."""
