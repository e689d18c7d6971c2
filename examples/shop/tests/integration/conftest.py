import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session


@pytest.fixture
def session(toolkit_db):
    engine = toolkit_db.engine
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _fk_on(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA foreign_keys = ON")
    with Session(engine) as session:
        yield session
