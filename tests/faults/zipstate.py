"""A zip archive as the faults tests compare it: its members' names and
bytes, not the archive's own bytes (libzip stamps each member with the time
it was added, so two clean runs write different archives)."""
import io
import zipfile


def members(data):
    """{member name: bytes} of the archive in data, or a string saying why
    it is no archive (so that a comparison shows it)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {i.filename: z.read(i) for i in z.infolist()}
    except zipfile.BadZipFile as e:
        return "not a zip archive: %s" % e
