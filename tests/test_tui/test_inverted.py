"""`v`: the inverted (bottom-up) flame graph in the Left Heavy pane."""

from __future__ import annotations

from textual.content import Content

from collectors.calltree import GroupedNode
from collectors.formats import folded
from tests.test_tui.profiles import small_group
from tui.app import BpfscopeApp
from tui.widgets.status import ProfileHeader

SIZE = (80, 24)

FOLDED = "main;a;b 30\nmain;a;c 10\nmain;d 40\nmain 20\nother;b 5\n"


def outline(app: BpfscopeApp) -> list[str]:
    """The Left Heavy tree as `name total` lines, indented by depth, pre-order."""
    model = app.left_heavy.model
    assert model is not None
    frames = app.session.group.frames
    out: list[str] = []
    todo = list(reversed(model.children(model.root)))
    while todo:
        node = todo.pop()
        assert isinstance(node, GroupedNode)
        out.append(f"{'  ' * node.depth}{frames[node.frame].name} {node.total:g}")
        todo.extend(reversed(model.children(node)))
    return out


def title(app: BpfscopeApp) -> str:
    rendered = app.query_one(ProfileHeader).render()
    assert isinstance(rendered, Content)
    return rendered.plain.splitlines()[0]


async def test_v_shows_leaf_functions_as_roots_with_their_callers_below() -> None:
    """Bottom-up: roots are leaves heaviest first (b merges its two callers), children callers."""
    app = BpfscopeApp(folded.read(FOLDED, "small.folded"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        assert outline(app) == [
            "d 40", "  main 40",
            "b 35", "  a 30", "    main 30", "  other 5",
            "main 20",
            "c 10", "  a 10", "    main 10",
        ]


async def test_v_again_goes_back_to_the_top_down_graph() -> None:
    """A second `v` shows the ordinary Left Heavy tree and drops the header note."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        assert "inverted (bottom-up)" in title(app)
        await pilot.press("v")
        assert outline(app)[:2] == ["main 100", "  a 40"]
        assert "inverted" not in title(app)


async def test_v_from_another_pane_opens_left_heavy() -> None:
    """`v` in Time Order switches to the Left Heavy pane, inverted."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "v")
        assert app.active_pane == "left-heavy"
        assert app.session.bottom_up
        assert outline(app)[0] == "d 40"


async def test_inverted_graph_follows_the_filters() -> None:
    """Chips apply to the inverted graph too: hiding `d` gives its time to main."""
    app = BpfscopeApp(small_group())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "l", "d", "v")
        assert [line for line in outline(app) if not line.startswith(" ")] == ["main 60", "b 30", "c 10"]
