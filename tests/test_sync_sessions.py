"""Sync SQLAlchemy sessions across the modules of a run: a session type alias, a session
factory or an engine defined in one module and used in another's coroutines (ASY002), and a
sync helper that takes the session (ASY006, through the same table of blocking calls)."""

from __future__ import annotations

from pathlib import Path

from helpers import check_tree

DATABASE = (
    "from typing import Annotated\n\n"
    "from fastapi import Depends\n"
    "from sqlalchemy import create_engine\n"
    "from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine\n"
    "from sqlalchemy.orm import Session, sessionmaker\n\n"
    "engine = create_engine('postgresql://localhost/app')\n"
    "SessionLocal = sessionmaker(bind=engine)\n"
    "async_engine = create_async_engine('postgresql+asyncpg://localhost/app')\n"
    "AsyncSessionLocal = async_sessionmaker(async_engine)\n\n\n"
    "def get_db():\n"
    "    with SessionLocal() as db:\n"
    "        yield db\n\n\n"
    "async def get_async_db():\n"
    "    async with AsyncSessionLocal() as db:\n"
    "        yield db\n\n\n"
    "DbSession = Annotated[Session, Depends(get_db)]\n"
    "AsyncDbSession = Annotated[AsyncSession, Depends(get_async_db)]\n"
)


def test_an_imported_session_alias_factory_and_engine(root: Path) -> None:
    """`DbSession`, `SessionLocal` and `engine` come from `app.db.base`, reached through a
    re-export in `app/db/__init__.py`; the async alias and factory stay silent, and so does a
    sync `def` endpoint (FastAPI runs it in a thread)."""
    files = {
        "app/__init__.py": "",
        "app/db/__init__.py": "from .base import DbSession, SessionLocal\n",
        "app/db/base.py": DATABASE,
        "app/users.py": (
            "from sqlalchemy import select, text\n\n"
            "from app.db import DbSession, SessionLocal\n"
            "from app.db.base import AsyncDbSession, AsyncSessionLocal, engine\n"
            "from app.models import User\n\n\n"
            "async def read_user(user_id: int, db: DbSession):\n"
            "    return db.query(User).filter(User.id == user_id).first()\n\n\n"
            "async def rename(user_id: int, db: DbSession):\n"
            "    db.get(User, user_id).name = 'x'\n"
            "    db.commit()\n\n\n"
            "async def nightly():\n"
            "    with SessionLocal() as session, engine.connect() as conn:\n"
            "        conn.execute(text('vacuum'))\n"
            "        return session.scalars(select(User)).all()\n\n\n"
            "async def read_async(db: AsyncDbSession):\n"
            "    async with AsyncSessionLocal() as other:\n"
            "        await other.commit()\n"
            "    return (await db.execute(select(User))).scalars().all()\n\n\n"
            "def read_sync(db: DbSession):\n"
            "    return db.query(User).all()\n"
        ),
    }
    advice = "use `AsyncSession` (`sqlalchemy.ext.asyncio`) or `asyncio.to_thread()`"
    assert check_tree(root, files, "ASY002") == [
        f"app/users.py:9:12: ASY002 `db.query(...).first()` blocks the event loop in async "
        f"`read_user()`; {advice}",
        f"app/users.py:13:5: ASY002 `db.get()` blocks the event loop in async `rename()`; {advice}",
        f"app/users.py:14:5: ASY002 `db.commit()` blocks the event loop in async `rename()`; "
        f"{advice}",
        "app/users.py:18:37: ASY002 `engine.connect()` blocks the event loop in async "
        "`nightly()`; use `AsyncEngine` (`sqlalchemy.ext.asyncio`) or `asyncio.to_thread()`",
        "app/users.py:19:9: ASY002 `conn.execute()` blocks the event loop in async `nightly()`; "
        "use `AsyncConnection` (`sqlalchemy.ext.asyncio`) or `asyncio.to_thread()`",
        f"app/users.py:20:16: ASY002 `session.scalars()` blocks the event loop in async "
        f"`nightly()`; {advice}",
    ]


def test_a_sync_helper_handed_the_session(root: Path) -> None:
    """A service function that takes the endpoint's session (`db: Session`, or the imported
    alias) blocks through ASY006; one taking an `AsyncSession` is a coroutine and does not."""
    files = {
        "app/__init__.py": "",
        "app/db.py": DATABASE,
        "app/services.py": (
            "from sqlalchemy import select\n"
            "from sqlalchemy.ext.asyncio import AsyncSession\n"
            "from sqlalchemy.orm import Session\n\n"
            "from app.db import DbSession\n"
            "from app.models import User\n\n\n"
            "def get_user(db: Session, user_id: int):\n"
            "    return db.query(User).filter(User.id == user_id).one_or_none()\n\n\n"
            "def save(db: DbSession, user):\n"
            "    db.add(user)\n"
            "    db.commit()\n\n\n"
            "def stage(db: Session, user):\n"
            "    db.add(user)\n\n\n"
            "async def get_async(db: AsyncSession, user_id: int):\n"
            "    return await db.get(User, user_id)\n"
        ),
        "app/api.py": (
            "from app.db import AsyncDbSession, DbSession\n"
            "from app.services import get_async, get_user, save, stage\n\n\n"
            "async def update(user_id: int, db: DbSession, other: AsyncDbSession):\n"
            "    user = get_user(db, user_id)\n"
            "    stage(db, user)\n"
            "    save(db, user)\n"
            "    return await get_async(other, user_id)\n"
        ),
    }
    assert check_tree(root, files, "ASY006") == [
        "app/api.py:6:12: ASY006 `get_user()` blocks the event loop in async `update()`: "
        "get_user() → db.query().filter().one_or_none() (sync SQLAlchemy client)",
        "app/api.py:8:5: ASY006 `save()` blocks the event loop in async `update()`: "
        "save() → db.commit() (sync SQLAlchemy client)",
    ]
