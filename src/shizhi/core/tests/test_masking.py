from shizhi.core.masking import mask_address, mask_email, mask_id_number, mask_mobile, mask_name


def test_mobile() -> None:
    assert mask_mobile("13812341234") == "138****1234"
    assert mask_mobile("+8613812341234") == "138****1234"
    assert mask_mobile("138-1234-1234") == "138****1234"
    assert mask_mobile("0571-87654321") == "********4321"
    assert mask_mobile("") == ""
    assert mask_mobile(None) == ""
    assert mask_mobile("123") == "***"


def test_id_number() -> None:
    assert mask_id_number("11010119900307123X") == "110***********123X"
    assert mask_id_number("330102198001011234") == "330***********1234"
    assert mask_id_number("12345") == "*****"
    assert mask_id_number("") == ""


def test_name() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("王建国") == "王**"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "李"
    assert mask_name(None) == ""


def test_email_and_address() -> None:
    assert mask_email("zhangsan@example.cn") == "z***@example.cn"
    assert mask_address("江城区东湖街道幸福路12号3单元") == "江城区东湖街****"
    assert mask_address("江城区") == "江城区"
