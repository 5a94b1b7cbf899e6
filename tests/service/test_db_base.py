from sqlalchemy import text

from service.db.base import get_engine, session_scope


def test_the_database_follows_the_environment(tmp_path, monkeypatch):
    first = tmp_path / "first.db"
    second = tmp_path / "second.db"
    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{first}")
    with session_scope() as session:
        session.execute(text("create table t (x int)"))
    monkeypatch.setenv("AIGC_DATABASE_URL", f"sqlite:///{second}")
    assert str(get_engine().url).endswith("second.db")
    with session_scope() as session:
        session.execute(text("create table u (x int)"))
    assert first.exists() and second.exists()
    assert get_engine(f"sqlite:///{first}") is get_engine(f"sqlite:///{first}")
