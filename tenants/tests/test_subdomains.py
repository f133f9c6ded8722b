import re

from django.conf import settings

from tenants import subdomains
from tenants.divisions.codes import LEVEL_ORDER
from tenants.divisions.importer import read_division_file
from tenants.divisions.readings import polyphonic
from tenants.management.commands.import_divisions import DEFAULT_FILE

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

# Every character of the Henan list that has more than one reading, each looked at in every name it
# appears in (`python -m tenants.divisions.readings`; decisions in docs/design/subdomains.md). A
# new division file that brings another one fails here until it has been reviewed.
REVIEWED_CHARACTERS = set(
    "㴔丁万之乐亢仇仰任会传伯佃位余佛信僧六内册冯冷券前助勒勿包化匡区半南卜卞占卡厂古召台叶司"
    "合吴吾告和咸团园土圣圪地块堆堡堤堪塔增夏大太夹女姚姬宁完宛家宿寨寺封射将尉尚尹尺居屏屯岈巨"
    "市干平年广庄底庵彭得怀思慎房扒扶承技投拍招探搬方施族无昆明是晁景月朝期朱杜果柏查柴栎栗校格"
    "桃桐棵椹槽横殷母氏池汤汪汾沈沙沱泌泥洋洗洞洼浅浒浚涉涡渑渠温港游湍湛溪滑漯潘潢潦潭瀼灌灯烟"
    "焦熟牟狼王甘甫由甸番登白百皇皋盛盟省睢石祁祖祝祭种称穰穴繁红绿羽翟耳胜舒艾芒芦芭苑英苹草荥"
    "莘葡董蒲蓼蔡薄虹蟒行裴褚覃解詹许谷豁豫贾超越路踅车转达邑邓邢郇郝部都酂重野长阮阿陀陂陆陟陶"
    "隗雀震露青顿鹿鼎齐"
)

# The reading of every name of the Henan list that PLACE_READINGS applies to, checked by hand.
READ_NAMES = {
    "石佛街道": "shifojiedao",
    "长江路街道": "changjianglujiedao",
    "祭城路街道": "zhaichenglujiedao",
    "长兴路街道": "changxinglujiedao",
    "大隗镇": "daweizhen",
    "繁塔街道": "potajiedao",
    "仇楼镇": "qiulouzhen",
    "长智镇": "changzhizhen",
    "长春路街道": "changchunlujiedao",
    "长安路街道": "changanlujiedao",
    "翟镇镇": "zhaizhenzhen",
    "朝阳镇": "chaoyangzhen",
    "长水镇": "changshuizhen",
    "盐都街道": "yandujiedao",
    "长桥镇": "changqiaozhen",
    "殷都区": "yinduqu",
    "太行小区街道": "taihangxiaoqujiedao",
    "都里镇": "dulizhen",
    "长风中路街道": "changfengzhonglujiedao",
    "浚县": "xunxian",
    "浚州街道": "xunzhoujiedao",
    "朝歌街道": "zhaogejiedao",
    "卫都街道": "weidujiedao",
    "翟坡镇": "zhaipozhen",
    "安都乡": "anduxiang",
    "长垣市": "changyuanshi",
    "太行街道": "taihangjiedao",
    "长庆路街道": "changqinglujiedao",
    "南乐县": "nanlexian",
    "魏都区": "weiduqu",
    "长村张街道": "changcunzhangjiedao",
    "夏都街道": "xiadujiedao",
    "长葛市": "changgeshi",
    "长社路街道": "changshelujiedao",
    "佛耳湖镇": "foerhuzhen",
    "漯河市": "luoheshi",
    "召陵区": "shaolingqu",
    "翟庄街道": "zhaizhuangjiedao",
    "召陵镇": "shaolingzhen",
    "朝阳路街道": "chaoyanglujiedao",
    "玉都街道": "yudujiedao",
    "石佛寺镇": "shifosizhen",
    "都司镇": "dusizhen",
    "长征街道": "changzhengjiedao",
    "勒马镇": "lemazhen",
    "长岗镇": "changgangzhen",
    "长台关乡": "changtaiguanxiang",
    "卡房乡": "qiafangxiang",
    "长竹园乡": "changzhuyuanxiang",
    "番城街道": "pochengjiedao",
    "石佛店镇": "shifodianzhen",
    "卜塔集镇": "butajizhen",
    "长陵乡": "changlingxiang",
    "涡北镇": "guobeizhen",
    "千佛阁街道": "qianfogejiedao",
    "蔡都街道": "caidujiedao",
    "泌阳县": "biyangxian",
    "泌水街道": "bishuijiedao",
    "佛阁寺镇": "fogesizhen",
}

# Subdomains of units whose names are often misread, corrected or confirmed.
EXPECTED_SUBDOMAINS = {
    "411100000000": "luohe",  # 漯河市
    "411104000000": "shaoling",  # 召陵区
    "411104102000": "shaoling-shaoling",  # 召陵镇, 召陵区
    "410783000000": "changyuan",  # 长垣市
    "411082000000": "changge",  # 长葛市
    "410621000000": "xunxian",  # 浚县
    "410621004000": "xunzhou-xunxian",  # 浚州街道
    "410923000000": "nanle",  # 南乐县
    "411726000000": "biyang",  # 泌阳县
    "411002000000": "weidu",  # 魏都区
    "410505000000": "yindu",  # 殷都区
    "410622001000": "zhaoge-qixian-hebi",  # 朝歌街道 of 淇县 (淇县 is qixian-hebi: 杞县 came first)
    "410182000000": "xingyang",  # 荥阳市
    "410422000000": "yexian",  # 叶县 (ye, not the old she)
    "410425000000": "jiaxian",  # 郏县
    "411424000000": "zhecheng",  # 柘城县
    "411221000000": "mianchi",  # 渑池县
    "410122000000": "zhongmu",  # 中牟县
    "411422000000": "suixian",  # 睢县
    "410823000000": "wuzhi",  # 武陟县
    "410223000000": "weishi",  # 尉氏县
    "411321000000": "nanzhao",  # 南召县
    "411330000000": "tongbai",  # 桐柏县
    "411624000000": "shenqiu",  # 沈丘县
    "410482000000": "ruzhou",  # 汝州市
    "410900000000": "puyang",  # 濮阳市
    "410305000000": "jianxi",  # 涧西区
    "411481104000": "cuocheng-yongcheng",  # 酂城镇
    "410825106000": "zhaobao-wenxian",  # 赵堡镇 (赵堡太极拳)
    "410821102000": "huanfeng-xiuwu",  # 郇封镇: huán in 修武
    "411203207000": "xiashi-shanzhou",  # 硖石乡
}


def ordered_rows():
    return sorted(
        read_division_file(DEFAULT_FILE), key=lambda r: (LEVEL_ORDER.index(r.level), r.code)
    )


def assign_all(read=subdomains.slug):
    """Every unit's subdomain as a fresh import gives it (`read`: how names are read)."""
    taken = set(settings.RESERVED_SUBDOMAINS)
    by_code: dict[str, str] = {}
    for row in ordered_rows():
        options = subdomains.candidates(
            row.name, row.level, row.code, by_code.get(row.parent_code), read=read
        )
        by_code[row.code] = next(o for o in options if o not in taken)
        taken.add(by_code[row.code])
    return by_code


def test_every_henan_unit_gets_a_unique_valid_subdomain():
    by_code = assign_all()
    assert len(by_code) == 2646
    assert len(set(by_code.values())) == 2646
    assert all(DNS_LABEL.match(label) for label in by_code.values())
    assert not set(by_code.values()) & settings.RESERVED_SUBDOMAINS


def test_assign_all_is_what_the_importer_chooses():
    taken = set(settings.RESERVED_SUBDOMAINS)
    chosen: dict[str, str] = {}
    for row in ordered_rows():
        chosen[row.code] = subdomains.choose(
            row.name, row.level, row.code, chosen.get(row.parent_code), taken
        )
    assert chosen == assign_all()


def test_subdomains_are_readable():
    by_code = assign_all()
    assert by_code["410000000000"] == "henan"
    assert by_code["410100000000"] == "zhengzhou"
    assert by_code["410105000000"] == "jinshui"
    assert by_code["410102001000"] == "linshanzhai-zhongyuan"
    # 新乡市 takes the bare name; 新乡县 keeps its suffix.
    assert by_code["410700000000"] == "xinxiang"
    assert by_code["410721000000"] == "xinxiangxian"


def test_polyphonic_place_names_get_their_place_reading():
    by_code = assign_all()
    assert {code: by_code[code] for code in EXPECTED_SUBDOMAINS} == EXPECTED_SUBDOMAINS


def test_every_polyphonic_character_of_the_list_was_reviewed():
    found = {c for row in ordered_rows() for c in row.name if polyphonic(c)}
    assert found - REVIEWED_CHARACTERS == set()


def test_every_name_a_place_reading_applies_to_reads_as_reviewed():
    names = {row.name for row in ordered_rows()}
    applied = {n for n in names if any(phrase in n for phrase in subdomains.PLACE_READINGS)}
    assert applied == set(READ_NAMES)
    assert {n: subdomains.slug(n) for n in applied} == READ_NAMES


def test_place_readings_change_nothing_else():
    """An entry changes only the characters it names: pypinyin reads the rest of the name as it
    reads it in the whole name, and names no entry applies to are read as pypinyin reads them."""
    entries = re.compile("|".join(sorted(subdomains.PLACE_READINGS, key=len, reverse=True)))
    for row in ordered_rows():
        plain = subdomains.syllables(row.name, readings={})
        assert len(plain) == len(row.name), row.name  # one syllable per character
        expected = list(plain)
        for match in reversed(list(entries.finditer(row.name))):
            expected[match.start() : match.end()] = [subdomains.PLACE_READINGS[match.group()]]
        assert "".join(subdomains.syllables(row.name)) == "".join(expected), row.name


def test_the_readings_a_correction_needs():
    assert subdomains.misread_slug("漯河") == "tahe" and subdomains.slug("漯河") == "luohe"
    assert subdomains.misread_slug("长垣") == "zhangyuan"
    assert subdomains.slug("长垣") == "changyuan"
    assert subdomains.slug("长葛") == "changge"
    assert subdomains.slug("浚县") == "xunxian"
    assert subdomains.slug("召陵") == "shaoling"
    # 南召 keeps zhao: only 召陵 is read shao.
    assert subdomains.slug("南召") == "nanzhao"


def test_correcting_an_old_assignment_gives_what_a_fresh_import_gives():
    old, new = assign_all(read=subdomains.misread_slug), assign_all()
    units = [
        subdomains.Unit(r.code, r.name, r.level, r.parent_code, old[r.code]) for r in ordered_rows()
    ]
    taken = set(old.values()) | set(settings.RESERVED_SUBDOMAINS)
    corrected = subdomains.misread_subdomains(units, taken)
    assert {code: corrected.get(code, old[code]) for code in old} == new
    assert corrected == {code: new[code] for code in old if new[code] != old[code]}
    assert corrected["411100000000"] == "luohe" and old["411100000000"] == "tahe"
    # The townships of a corrected county follow it.
    assert corrected["410783001000"] == "pudong-changyuan"
    # Old and new labels never collide: every old one can stay as an alias.
    assert not set(corrected.values()) & {old[code] for code in corrected}

    again = [
        subdomains.Unit(u.code, u.name, u.level, u.parent_code, corrected.get(u.code, u.subdomain))
        for u in units
    ]
    assert subdomains.misread_subdomains(again, taken) == {}


def test_a_subdomain_kept_from_an_earlier_name_is_not_corrected():
    # 长葛市 used to be 某县 (subdomain mouxian): the rename kept it and no reading changes that.
    units = [
        subdomains.Unit("410000000000", "河南省", "province", "", "henan"),
        subdomains.Unit("411000000000", "许昌市", "city", "410000000000", "xuchang"),
        subdomains.Unit("411082000000", "长葛市", "county", "411000000000", "mouxian"),
        subdomains.Unit(
            "411082001000", "建设路街道", "township", "411082000000", "jianshelu-mouxian"
        ),
    ]
    taken = {u.subdomain for u in units}
    assert subdomains.misread_subdomains(units, taken) == {}
