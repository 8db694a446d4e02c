"""Spelling of place names with the user's word lists: split, sign pinyin, homophone key.

The public front (``wordlists=`` a folder) of :mod:`geoplan.registers._pinyin` (``folder=``); re-exported by
:mod:`geoplan.registers.names` and used by the gazetteer and the road signs.
"""

from __future__ import annotations

import os
from pathlib import Path

from geoplan.registers._namerules import _as_folder, shipped_folder
from geoplan.registers._pinyin import NameParts, sign_pinyin as _sign_pinyin, split_name as _split_name, toneless_key


def wordlists_folder() -> Path:
    """The shipped word-list folder (copy and edit it; pass the copy as ``wordlists=``).

    Returns
    -------
    pathlib.Path
        The folder inside the installed package.
    """
    return shipped_folder()


def split_name(name: str, *, category: str | None = None, wordlists: str | os.PathLike | None = None) -> NameParts:
    """Split a name into specific (专名) and generic (通名) parts.

    Parameters
    ----------
    name
        Standard name, e.g. ``"雨湖路"``.
    category
        Prefer generics of this category (road, village, township, county, city, province).
    wordlists
        Folder with a user ``generics.txt``.

    Returns
    -------
    NameParts
        ``specific``, ``generic`` and ``generic_category``.
    """
    return _split_name(name, category=category, folder=_as_folder(wordlists))


def sign_pinyin(
    name: str,
    *,
    category: str | None = None,
    one_word: bool = False,
    upper: bool = False,
    wordlists: str | os.PathLike | None = None,
) -> str:
    """Pinyin of a place name for signs (GB 17733; GB/T 16159-2012; 1984 spelling rules).

    Specific and generic are written separately and capitalised (雨湖路 →
    ``Yuhu Lu``); an apostrophe separates a/o/e-initial syllables inside a word
    (西安 → ``Xi'an``); one-syllable directions attach to the road generic
    (建设北路 → ``Jianshe Beilu``); sequence numbers before 条/巷/弄 become
    Arabic digits (东四十条 → ``Dongsi 10 Tiao``); natural villages are one word;
    polyphonic characters follow the place-name dictionary ``place_pinyin.txt``
    (长沙 ``Changsha``, 六安 ``Lu'an``, 单县 ``Shan Xian``), which users extend.
    No tone marks.

    Parameters
    ----------
    name
        Standard name.
    category
        ``"natural_village"`` for one word; other categories steer the generic split.
    one_word
        Write as one word regardless of category.
    upper
        All capitals.
    wordlists
        Folder with user ``place_pinyin.txt`` / ``generics.txt``.

    Returns
    -------
    str
        The sign spelling, e.g. ``"Yuhu Lu"``.
    """
    return _sign_pinyin(name, category=category, one_word=one_word, upper=upper, folder=_as_folder(wordlists))


def homophone_key(name: str, *, wordlists: str | os.PathLike | None = None) -> str:
    """Toneless pinyin (space separated) used to detect homophones.

    Parameters
    ----------
    name
        The name.
    wordlists
        Folder with a user ``place_pinyin.txt``.

    Returns
    -------
    str
        Toneless syllables joined by spaces (place-name dictionary applied).
    """
    return toneless_key(name, folder=_as_folder(wordlists))

