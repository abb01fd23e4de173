#!/usr/bin/env python3
"""Writes entities.xml from the sentences below (written for this repository, CC0; every person,
company, hotel, restaurant, product and title is made up, the places are real).

A sentence marks each entity as [text|TYPE] (PER, ORG, LOC, PRODUCT); this script removes the marks
and computes each entity's character offsets (Unicode code points, as Python's str counts them, end
exclusive) into the unmarked text, then checks text[from:to] for every span of the written file.
Run from anywhere: python3 Corpora/make_entities.py
"""
import os, re, xml.etree.ElementTree as ET

SENTENCES = {
("en", "phone"): """
[Corvid Mobile|ORG] unveiled the [Nimbus X2|PRODUCT] at a small event in [Lisbon|LOC].
[Hana Okafor|PER] says her [Nimbus X2|PRODUCT] still lasts two days on a charge.
The [Tern 7|PRODUCT] from [Fieldstone|ORG] costs less than most of its rivals.
I bought a [Quill Mini|PRODUCT] in [Rotterdam|LOC] and the screen died within a month.
[Marek Duval|PER], who leads design at [Corvid Mobile|ORG], showed the new camera module.
Repairs for the [Tern 7|PRODUCT] are handled by [Brightfix|ORG] in [Leeds|LOC].
[Sofia Brandt|PER] compared the [Quill Mini|PRODUCT] with the [Nimbus X2|PRODUCT] for a week.
[Fieldstone|ORG] opened its first store in [Nairobi|LOC] last spring.
My brother [Tomas|PER] dropped his [Tern 7 Pro|PRODUCT] in a lake and it still works.
Carriers in [Chile|LOC] started selling the [Nimbus X2|PRODUCT] in March.
[Lumen Weekly|ORG] rated the [Quill Mini|PRODUCT] the best small phone of the year.
[Priya Nair|PER] runs the support team at [Fieldstone|ORG] in [Pune|LOC].
The [Nimbus Buds|PRODUCT] pair with any [Corvid Mobile|ORG] handset in seconds.
[Jonas Weber|PER] waited three weeks for a replacement [Quill Mini|PRODUCT].
[Oakline Telecom|ORG] offers the [Tern 7|PRODUCT] free with a two-year plan.
A factory near [Shenzhen|LOC] assembles every [Nimbus X2|PRODUCT].
[Ada Reyes|PER] reviewed the [Tern 7 Pro|PRODUCT] camera for [Lumen Weekly|ORG].
The [Quill Mini|PRODUCT] is sold out across [Ireland|LOC].
[Brightfix|ORG] replaced the battery of my [Nimbus X2|PRODUCT] in an hour.
[Kenji Mori|PER] prefers the [Tern 7|PRODUCT] because it still has a headphone jack.
[Corvid Mobile|ORG] moved its headquarters from [Oslo|LOC] to [Berlin|LOC].
The [Fieldstone Watch|PRODUCT] syncs badly with the [Tern 7|PRODUCT].
[Lena Fischer|PER] from [Oakline Telecom|ORG] answered my complaint the same day.
In [Montreal|LOC], the [Nimbus X2|PRODUCT] costs about the same as the [Quill Mini|PRODUCT].
[Ravi Shah|PER] sold his [Quill Mini|PRODUCT] and went back to a [Corvid Mobile|ORG] phone.
""",
("en", "hotel"): """
We stayed at the [Harbour Lantern Hotel|ORG] in [Valletta|LOC] for four nights.
[Greta Lind|PER], the manager, gave us a room facing the sea.
The [Cedar Court Inn|ORG] is a short walk from [Central Station|LOC].
[Paolo Ricci|PER] at the front desk recommended a boat trip to [Gozo|LOC].
[Stayhaven|ORG] lists the [Harbour Lantern Hotel|ORG] as fully booked in August.
The [Blue Finch Lodge|ORG] near [Lake Orta|LOC] has only twelve rooms.
[Amira Haddad|PER] booked us a late checkout without being asked.
Our tour guide [Nils|PER] picked us up from the [Cedar Court Inn|ORG] at six.
The [Grand Meridian|ORG] in [Porto|LOC] charged us twice for the minibar.
[Stayhaven|ORG] refunded the deposit after [Jonah Pike|PER] called them.
From the roof of the [Blue Finch Lodge|ORG] you can see [Monte Rosa|LOC].
The [Harbour Lantern Hotel|ORG] belongs to the [Sandpiper Group|ORG].
[Elif Kaya|PER] cleaned our room every morning and left fresh flowers.
The shuttle from [Faro Airport|LOC] to the [Grand Meridian|ORG] never arrived.
[Marta Solis|PER] wrote a glowing review of the [Cedar Court Inn|ORG].
The [Sandpiper Group|ORG] is opening a new resort in [Zanzibar|LOC].
We paid with a [TravelPass Card|PRODUCT] and earned points at the [Grand Meridian|ORG].
[Owen Blake|PER] complained that the [Blue Finch Lodge|ORG] had no lift.
The spa at the [Harbour Lantern Hotel|ORG] uses [Saltbloom|PRODUCT] soaps.
Our room in [Kyoto|LOC] was small but spotless.
[Ines Moreau|PER] and her sister spent their honeymoon at the [Grand Meridian|ORG].
[Stayhaven|ORG] moved us to the [Cedar Court Inn|ORG] after the flood.
The night porter, [Viktor|PER], fixed the heater himself.
The [Blue Finch Lodge|ORG] serves breakfast on a terrace above [Lake Orta|LOC].
Every room at the [Grand Meridian|ORG] has a [Sleepwell Pro|PRODUCT] mattress.
""",
("en", "book"): """
[Clara Voss|PER] wrote [The Salt Road|PRODUCT] after a year in [Morocco|LOC].
[Inkwell Press|ORG] published the paperback of [The Salt Road|PRODUCT] in June.
The detective in [Nine Quiet Streets|PRODUCT] lives in [Edinburgh|LOC].
[Daniel Osei|PER] translated the novel for [Harrow & Finch|ORG].
Our reading club in [Bristol|LOC] chose [Nine Quiet Streets|PRODUCT] for May.
[Mei Tanaka|PER] illustrated [The Lantern Fox|PRODUCT], a picture book for small children.
[Inkwell Press|ORG] lost the rights to [The Lantern Fox|PRODUCT] last year.
[Ruth Adler|PER] reviewed [A Short History of Rain|PRODUCT] for [Lumen Weekly|ORG].
[A Short History of Rain|PRODUCT] follows three farmers in [Patagonia|LOC].
The e-book of [Nine Quiet Streets|PRODUCT] is cheaper at [Pageturn|ORG].
[Clara Voss|PER] signed copies at a bookshop in [Dublin|LOC].
[Felix Brandt|PER] edited the new edition of [The Salt Road|PRODUCT].
[Pageturn|ORG] shipped my copy of [The Lantern Fox|PRODUCT] with a torn cover.
The sequel to [The Salt Road|PRODUCT] is set in [Cairo|LOC].
[Harrow & Finch|ORG] hired [Daniel Osei|PER] as a full-time translator.
[Noor Aziz|PER] read [A Short History of Rain|PRODUCT] aloud on the radio.
The library in [Ghent|LOC] has twelve copies of [Nine Quiet Streets|PRODUCT].
[Lumen Weekly|ORG] called [The Lantern Fox|PRODUCT] the warmest book of the season.
[Tobias Grey|PER] won a prize for his first novel, [Glass Harbour|PRODUCT].
[Glass Harbour|PRODUCT] takes place on an island off [Norway|LOC].
[Inkwell Press|ORG] sells [Glass Harbour|PRODUCT] only in hardcover.
I read [The Salt Road|PRODUCT] on my [Pageturn Reader|PRODUCT] during a flight to [Athens|LOC].
[Mei Tanaka|PER] now works for [Harrow & Finch|ORG] in [London|LOC].
[Ruth Adler|PER] found the ending of [Glass Harbour|PRODUCT] too neat.
The audiobook of [Nine Quiet Streets|PRODUCT] is narrated by [Sam Okoro|PER].
""",
("en", "restaurant"): """
Chef [Lucia Romano|PER] runs [Trattoria Vela|ORG] in [Naples|LOC].
We had dinner at [Trattoria Vela|ORG] and the pasta was perfect.
[The Copper Pot|ORG] in [Manchester|LOC] serves the best pies I know.
[Arjun Mehta|PER] opened [Saffron Lane|ORG] near the river in [Leicester|LOC].
The waiter, [Hugo|PER], brought us a free dessert.
[Tablebook|ORG] could not find our reservation at [Saffron Lane|ORG].
[Trattoria Vela|ORG] makes its own [Vela Sauce|PRODUCT] and sells it by the jar.
[Dana Kim|PER] reviewed [The Copper Pot|ORG] for [Lumen Weekly|ORG].
The fish at [Blue Anchor|ORG] comes straight from the harbour in [Cork|LOC].
[Lucia Romano|PER] trained in [Bologna|LOC] before moving south.
We ordered through [Tablebook|ORG] and the food arrived cold.
[Saffron Lane|ORG] now ships its [Lane Masala|PRODUCT] spice mix.
[Marco Bellini|PER] has run the kitchen at [Blue Anchor|ORG] for ten years.
[The Copper Pot|ORG] closed its second branch in [Liverpool|LOC].
[Yuki Sato|PER] ate at [Trattoria Vela|ORG] twice in one week.
The brunch at [Marigold Cafe|ORG] in [Brighton|LOC] is worth the queue.
[Marigold Cafe|ORG] roasts its own coffee and sells the [Marigold Blend|PRODUCT] beans.
[Arjun Mehta|PER] and [Dana Kim|PER] cooked together at a festival in [Goa|LOC].
[Blue Anchor|ORG] was fined after an inspection by the [Food Standards Office|ORG].
[Hugo|PER] recommended the lamb, and he was right.
[Tablebook|ORG] gave [Marigold Cafe|ORG] its award for the best breakfast.
We drove from [Oxford|LOC] just to eat at [The Copper Pot|ORG].
[Lucia Romano|PER] published her recipes as [Vela at Home|PRODUCT].
The tasting menu at [Saffron Lane|ORG] changes every season.
[Eva Novak|PER] found a hair in her soup at [Blue Anchor|ORG].
""",
("zh", "phone"): """
[星河通讯|ORG]在[深圳|LOC]发布了[星河S5|PRODUCT]。
[李晓雯|PER]说她的[星河S5|PRODUCT]一次充电能用两天。
[青石科技|ORG]推出的[青石Note3|PRODUCT]价格很便宜。
我在[杭州|LOC]买了一部[青石Note3|PRODUCT]，一个月后屏幕就坏了。
[王建国|PER]是[星河通讯|ORG]的设计总监。
[快修宝|ORG]在[成都|LOC]负责[青石Note3|PRODUCT]的维修。
[陈静|PER]把[星河S5|PRODUCT]和[云雀Mini|PRODUCT]对比了一个星期。
[青石科技|ORG]去年在[西安|LOC]开了第一家门店。
我弟弟[小刚|PER]把[云雀Mini|PRODUCT]掉进了水里，居然还能用。
[云雀手机|ORG]的新品在[香港|LOC]很受欢迎。
[数码周刊|ORG]把[云雀Mini|PRODUCT]评为年度最佳小屏手机。
[刘洋|PER]在[南京|LOC]的[青石科技|ORG]客服中心工作。
[星河耳机|PRODUCT]可以和任何[星河通讯|ORG]的手机快速配对。
[赵敏|PER]等了三周才拿到换新的[云雀Mini|PRODUCT]。
[长风电信|ORG]签约两年就送一部[青石Note3|PRODUCT]。
[东莞|LOC]的一家工厂负责组装[星河S5|PRODUCT]。
[周婷|PER]在[数码周刊|ORG]上评测了[星河S5|PRODUCT]的相机。
[云雀Mini|PRODUCT]在[上海|LOC]已经卖断货了。
[快修宝|ORG]一个小时就给我的[星河S5|PRODUCT]换好了电池。
[孙浩|PER]更喜欢[青石Note3|PRODUCT]，因为它还有耳机孔。
[星河通讯|ORG]把总部从[广州|LOC]搬到了[北京|LOC]。
[青石手环|PRODUCT]和[青石Note3|PRODUCT]连接不太稳定。
[长风电信|ORG]的[黄磊|PER]当天就回复了我的投诉。
在[重庆|LOC]，[星河S5|PRODUCT]和[云雀Mini|PRODUCT]的价格差不多。
[吴凡|PER]卖掉了[云雀Mini|PRODUCT]，又换回了[星河通讯|ORG]的手机。
""",
("zh", "hotel"): """
我们在[厦门|LOC]的[海灯酒店|ORG]住了四晚。
经理[林雪|PER]给我们安排了一间海景房。
[松庭客栈|ORG]离[苏州站|LOC]只有几分钟路程。
前台的[马超|PER]推荐我们去[鼓浪屿|LOC]坐船。
[旅居网|ORG]显示[海灯酒店|ORG]八月已经订满了。
[洱海|LOC]边上的[青鸟民宿|ORG]只有十二个房间。
[何佳|PER]主动帮我们延迟了退房时间。
导游[老郑|PER]早上六点到[松庭客栈|ORG]接我们。
[青岛|LOC]的[锦澜大酒店|ORG]把迷你吧的费用收了两次。
[高远|PER]打电话以后，[旅居网|ORG]退还了押金。
从[青鸟民宿|ORG]的屋顶可以看到[苍山|LOC]。
[海灯酒店|ORG]隶属于[沙鸥集团|ORG]。
保洁员[阿梅|PER]每天早上都会换上新鲜的花。
从[长水机场|LOC]到[锦澜大酒店|ORG]的接驳车一直没来。
[宋雨|PER]给[松庭客栈|ORG]写了一篇好评。
[沙鸥集团|ORG]要在[三亚|LOC]开一家新度假村。
我们用[旅行通卡|PRODUCT]在[锦澜大酒店|ORG]付款，还积了分。
[方明|PER]抱怨[青鸟民宿|ORG]没有电梯。
[海灯酒店|ORG]水疗用的香皂是[盐花|PRODUCT]的。
我们在[京都|LOC]住的房间很小，但非常干净。
[曹雅|PER]和妹妹在[锦澜大酒店|ORG]度蜜月。
发洪水以后，[旅居网|ORG]把我们转到了[松庭客栈|ORG]。
夜班门童[小魏|PER]自己修好了暖气。
[青鸟民宿|ORG]的早餐摆在能看到[洱海|LOC]的露台上。
[锦澜大酒店|ORG]每个房间都用[好眠Pro|PRODUCT]床垫。
""",
("zh", "book"): """
[苏然|PER]在[敦煌|LOC]住了一年后写出了[盐之路|PRODUCT]。
[墨池出版社|ORG]六月出版了[盐之路|PRODUCT]的平装本。
[九条静街|PRODUCT]里的侦探住在[苏州|LOC]。
[钱文博|PER]为[青檀书局|ORG]翻译了这部小说。
我们在[成都|LOC]的读书会五月选了[九条静街|PRODUCT]。
[田园|PER]为绘本[灯笼狐狸|PRODUCT]画了插图。
[墨池出版社|ORG]去年失去了[灯笼狐狸|PRODUCT]的版权。
[冯雪|PER]在[读者周报|ORG]上评论了[雨的简史|PRODUCT]。
[雨的简史|PRODUCT]讲的是[黄土高原|LOC]上三个农民的故事。
[九条静街|PRODUCT]的电子版在[翻页网|ORG]上更便宜。
[苏然|PER]在[武汉|LOC]的一家书店签售。
[董浩|PER]编辑了[盐之路|PRODUCT]的新版。
[翻页网|ORG]寄来的[灯笼狐狸|PRODUCT]封面是破的。
[盐之路|PRODUCT]的续集发生在[喀什|LOC]。
[青檀书局|ORG]聘请[钱文博|PER]做全职译者。
[叶青|PER]在电台朗读了[雨的简史|PRODUCT]。
[宁波|LOC]的图书馆有十二本[九条静街|PRODUCT]。
[读者周报|ORG]说[灯笼狐狸|PRODUCT]是这一季最温暖的书。
[韩磊|PER]凭处女作[玻璃港|PRODUCT]获了奖。
[玻璃港|PRODUCT]的故事发生在[舟山|LOC]的一座小岛上。
[墨池出版社|ORG]的[玻璃港|PRODUCT]只出精装本。
去[昆明|LOC]的飞机上，我用[翻页阅读器|PRODUCT]读完了[盐之路|PRODUCT]。
[田园|PER]现在在[北京|LOC]的[青檀书局|ORG]工作。
[冯雪|PER]觉得[玻璃港|PRODUCT]的结尾太圆满了。
[九条静街|PRODUCT]的有声书由[罗阳|PER]朗读。
""",
("zh", "restaurant"): """
厨师[罗莉|PER]在[扬州|LOC]开了[帆影小馆|ORG]。
我们在[帆影小馆|ORG]吃的晚饭，面做得特别好。
[铜锅居|ORG]在[哈尔滨|LOC]，他们家的炖菜是我吃过最好的。
[许飞|PER]在[长沙|LOC]河边开了[藏红巷|ORG]。
服务员[小吴|PER]送了我们一份甜点。
[订桌网|ORG]在[藏红巷|ORG]查不到我们的预订。
[帆影小馆|ORG]自己做[帆影辣酱|PRODUCT]，按瓶卖。
[包雯|PER]在[读者周报|ORG]上点评了[铜锅居|ORG]。
[蓝锚海鲜|ORG]的鱼是每天从[湛江|LOC]的码头运来的。
[罗莉|PER]年轻时在[顺德|LOC]学的厨艺。
我们在[订桌网|ORG]点的外卖送到时已经凉了。
[藏红巷|ORG]现在开始在网上卖[藏红咖喱粉|PRODUCT]。
[丁伟|PER]在[蓝锚海鲜|ORG]当了十年主厨。
[铜锅居|ORG]在[沈阳|LOC]的分店关门了。
[沈琪|PER]一个星期在[帆影小馆|ORG]吃了两次。
[厦门|LOC]的[金盏咖啡|ORG]早午餐值得排队。
[金盏咖啡|ORG]自己烘焙咖啡豆，还卖[金盏拼配|PRODUCT]。
[许飞|PER]和[包雯|PER]在[大理|LOC]的美食节上一起做菜。
[蓝锚海鲜|ORG]被[市场监管局|ORG]检查后罚了款。
[小吴|PER]推荐了羊肉，果然很好吃。
[订桌网|ORG]把最佳早餐奖颁给了[金盏咖啡|ORG]。
我们从[绍兴|LOC]开车过来，就为了吃[铜锅居|ORG]。
[罗莉|PER]把她的菜谱出成了一本书，叫[家常帆影|PRODUCT]。
[藏红巷|ORG]的品尝菜单每季都换。
[姚兰|PER]在[蓝锚海鲜|ORG]的汤里吃出了头发。
""",
}

MARK = re.compile(r"\[([^\[\]|]+)\|(PER|ORG|LOC|PRODUCT)\]")

def unmark(line):
    text, spans, pos = "", [], 0
    for m in MARK.finditer(line):
        text += line[pos:m.start()]
        start = len(text)
        text += m.group(1)
        spans.append((start, len(text), m.group(2), m.group(1)))
        pos = m.end()
    text += line[pos:]
    assert "[" not in text and "]" not in text and "|" not in text, line
    return text, spans

def main():
    root = ET.Element("sentences")
    n = 0
    for (lang, topic), block in SENTENCES.items():
        for line in block.strip().splitlines():
            text, spans = unmark(line.strip())
            n += 1
            s = ET.SubElement(root, "sentence", id="e%03d" % n, lang=lang, topic=topic)
            ET.SubElement(s, "text").text = text
            ents = ET.SubElement(s, "entities")
            for a, b, t, _ in spans:
                ET.SubElement(ents, "entity", {"from": str(a), "to": str(b), "type": t})
    ET.indent(root, space="  ")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "entities.xml")
    with open(out, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write(ET.tostring(root, encoding="unicode"))
        f.write("\n")
    # Read the written file back and check every span against the marked source.
    expected = [unmark(l.strip()) for b in SENTENCES.values() for l in b.strip().splitlines()]
    got = ET.parse(out).getroot().findall("sentence")
    assert len(got) == len(expected)
    spans = 0
    for s, (text, exp) in zip(got, expected):
        t = s.find("text").text
        assert t == text
        for e, (a, b, typ, surface) in zip(s.find("entities"), exp):
            assert t[int(e.get("from")):int(e.get("to"))] == surface and e.get("type") == typ
            spans += 1
        assert len(s.find("entities")) == len(exp) > 0
    print(f"{out}: {len(got)} sentences, {spans} entities, every text[from:to] checked")

if __name__ == "__main__":
    main()
