"""Labels and buttons made and destroyed leave no texture behind on the GPU: Ursina's Text
cleared the shared font for every Text made, so each one rasterised its glyphs into a new page
texture that stayed prepared (one more per label or button, for as long as the app ran)."""

from __future__ import annotations


def _script() -> dict:
    from twin3d.view import engine

    app = engine.start("offscreen", (640, 360))
    from ursina import destroy

    from twin3d.view import widgets as W

    prepared = app.win.get_gsg().get_prepared_objects()

    def frames(n: int = 2) -> None:
        for _ in range(n):
            app.step()

    frames(3)
    first = W.label("twin3d 0123456789", position=(-0.5, 0.3))  # the font's first glyphs
    frames()
    counts = [prepared.get_num_prepared_textures()]
    for i in range(6):
        made = [W.label(f"label {i}: drift {i / 3:.2f} mm"),
                W.button(f"button {i}", None, (0, 0), (0.2, 0.05))]
        frames()
        for e in made:
            destroy(e)
        frames()
        counts.append(prepared.get_num_prepared_textures())
    return {"counts": counts, "first_text": first.text}


def test_labels_and_buttons_made_and_destroyed_leave_no_textures(run_scene_script):
    facts = run_scene_script(__file__)
    counts = facts["counts"]
    assert counts[0] >= 1  # the font's page is on the GPU
    assert counts[-1] == counts[0], counts  # was one more texture per label and per button
    assert facts["first_text"] == "twin3d 0123456789"
