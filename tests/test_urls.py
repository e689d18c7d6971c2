import pytest

from toolkit import urls
from toolkit.errors import UnsupportedURLError


def test_bare_backends_get_installed_drivers() -> None:
    assert urls.parse("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert urls.parse("mariadb://u@h/db").drivername == "mariadb+pymysql"
    assert urls.kind(urls.parse("mysql://u@h/db")) == "mysql"


def test_mask_hides_password() -> None:
    masked = urls.mask("postgresql://alice:s3cret@db.example:5432/app")
    assert "s3cret" not in masked and "alice:***@db.example:5432" in masked


def test_unknown_scheme_lists_supported() -> None:
    with pytest.raises(UnsupportedURLError) as info:
        urls.parse("oracle://scott:tiger@host/db")
    message = str(info.value)
    assert "tiger" not in message
    assert "sqlite" in message and "postgresql" in message and "mysql" in message
